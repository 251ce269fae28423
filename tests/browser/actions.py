"""Browser steps that wait for the page they lead to, so no assertion reads a page mid-load."""
import re

# "State, province or territory" without JavaScript; static/js/address-form.js names it for the country chosen.
REGION_LABEL = re.compile(r"^(State|Province|Territory)")


def follow(locator) -> None:
    """Click a link or a submit button and return once the next page has loaded.

    A click only starts the navigation; reading the page straight after it races the server.
    """
    with locator.page.expect_navigation():
        locator.click()


def fill_address(page, name: str = "Gina Guest", line1: str = "12 High Street", city: str = "Bristol",
                 postal_code: str = "BS1 4DJ", country: str = "GB", region: str | None = None) -> None:
    """Fill the checkout form's delivery address (the email is each test's own); `region` is the
    name of a state or province chosen from the list, for the countries that have one."""
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Address", exact=True).fill(line1)
    page.get_by_label("City").fill(city)
    page.get_by_label("Postal code").fill(postal_code)
    page.get_by_label("Country").select_option(country)
    if region:
        page.get_by_label(REGION_LABEL).select_option(label=region)


def log_in(page, url: str, email: str, password: str) -> None:
    """Open a page that needs a login at `url` and log in on the form it leads to."""
    page.goto(url)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password").fill(password)
    follow(page.get_by_role("button", name="Log in"))
