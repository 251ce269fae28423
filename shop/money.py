"""Money in integer minor units, and its one formatter."""

# ISO 4217 currencies whose minor unit is the major unit (Stripe's list).
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
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

