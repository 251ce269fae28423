"""Money in integer minor units, and its one formatter."""

# ISO 4217 currencies whose minor unit is the major unit (Stripe's list).
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$", "chf": "CHF "}


def minor_units_per_major(currency: str) -> int:
    """Return how many minor units make one major unit (1 for JPY, 100 for USD)."""
    return 1 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 100


def format_money(amount: int | None, currency: str) -> str:
    """Format integer minor units for display, e.g. 123456 usd -> "$1,234.56"."""
    if amount is None:
        return ""
    currency = currency.lower()
    symbol = SYMBOLS.get(currency, currency.upper() + " ")
    sign = "-" if amount < 0 else ""
    amount = abs(int(amount))
    if minor_units_per_major(currency) == 1:
        return f"{sign}{symbol}{amount:,}"
    major, minor = divmod(amount, 100)
    return f"{sign}{symbol}{major:,}.{minor:02d}"


def parse_money(text: str, currency: str) -> int:
    """Parse a decimal string typed by an admin ("12.5") into minor units, without floats."""
    text = text.strip().replace(",", "")
    if not text:
        raise ValueError("empty amount")
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    major, _, minor = text.partition(".")
    if not major.isdigit() and major != "":
        raise ValueError(f"not an amount: {text!r}")
    digits = 0 if minor_units_per_major(currency) == 1 else 2
    if minor and (not minor.isdigit() or len(minor) > digits):
        raise ValueError(f"too many decimal places: {text!r}")
    value = int(major or "0") * (10**digits) + int((minor or "0").ljust(digits, "0") or "0")
    return -value if negative else value
