"""Browser steps that wait for the page they lead to, so no assertion reads a page mid-load."""


def follow(locator) -> None:
    """Click a link or a submit button and return once the next page has loaded.

    A click only starts the navigation; reading the page straight after it races the server.
    """
    with locator.page.expect_navigation():
        locator.click()
