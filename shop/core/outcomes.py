"""How views turn a use case's refusal into what the shopper sees."""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from flask import abort, flash

from shop.services import NotFound, ShopError

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def flash_refusals() -> Iterator[None]:
    """Run a use case: a refusal (ShopError) becomes an error message, something missing a 404.

    The block ends with what to do on success; after a refusal the view goes on below it:

        with flash_refusals():
            accounts.add_address(...)
            flash("The address has been added.", "success")
            return redirect(url_for("account.addresses"))
        return render_template(...)  # the form again, with the message
    """
    try:
        yield
    except NotFound:
        abort(404)
    except ShopError as error:
        flash(str(error), "error")


def load_or_404(load: Callable[P, T | None], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a service read; a NotFound it raises, or a None it returns, is a 404 page."""
    try:
        found = load(*args, **kwargs)
    except NotFound:
        abort(404)
    if found is None:
        abort(404)
    return found
