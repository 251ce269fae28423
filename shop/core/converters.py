"""URL converters shared by every blueprint."""
from werkzeug.routing import IntegerConverter, Map

# Ids are 32-bit integer columns on Postgres; a larger number in a URL would be a database error.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A database id in a URL, `<id:order_id>`: a positive integer the id columns can hold, else 404."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)
