"""Query-string values every list page reads."""
from flask import request

MAX_PAGE = 10_000


def page_number() -> int:
    """Return ?page= as a page number from 1 to MAX_PAGE, falling back to 1 for anything else."""
    # type=int gives the default for whatever int() refuses: "²" (a digit to isdigit()), "1e309", 5,000 digits.
    return max(1, min(request.args.get("page", 1, type=int), MAX_PAGE))
