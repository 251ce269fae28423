"""Browser steps that wait for the page they lead to, so no assertion reads a page mid-load."""


def follow(locator) -> None:
    """Click a link or a submit button and return once the next page has loaded.

    A click only starts the navigation; reading the page straight after it races the server.
    """
    with locator.page.expect_navigation():
        locator.click()


def fill_address(page, name: str = "Gina Guest") -> None:
    """Fill the checkout form's delivery address (the email is each test's own)."""
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Address", exact=True).fill("12 High Street")
    page.get_by_label("City").fill("Bristol")
    page.get_by_label("Postal code").fill("BS1 4DJ")
    page.get_by_label("Country").select_option("GB")


def log_in(page, url: str, email: str, password: str) -> None:
    """Open a page that needs a login at `url` and log in on the form it leads to."""
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    follow(page.get_by_role("button", name="Log in"))
