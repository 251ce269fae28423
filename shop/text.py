"""What text the shop can store."""
import re

# Control characters and lone surrogates (Unicode's Cc and Cs): Postgres refuses NUL, and no name,
# address or note the shop keeps has any reason to hold the others.
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSTORABLE_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # keeps \t \n \r


def storable(text: str, multiline: bool = False) -> bool:
    """Return whether the text holds no control character (tabs and line breaks allowed when multiline)."""
    return not (_UNSTORABLE_IN_LINES if multiline else _UNSTORABLE).search(text)
