"""Money in integer minor units, and its one formatter."""

# Currencies counted in whole units: Stripe's zero-decimal list, and ISK, which ISO 4217 gives no
# minor unit (Stripe still writes it with two decimals: see stripe_gateway.to_stripe_amount).
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof",
     "xpf"]
)
# ISO 4217 currencies with three decimals; SHOP_CURRENCY refuses them (shop.config.checked_currency).
THREE_DECIMAL_CURRENCIES = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$", "chf": "CHF "}


def decimal_places(currency: str) -> int:
    """Return how many decimals the currency's amounts have (0 for JPY, 2 for USD, 3 for KWD)."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    return 3 if currency in THREE_DECIMAL_CURRENCIES else 2


def minor_units_per_major(currency: str) -> int:
    """Return how many minor units make one major unit (1 for JPY, 100 for USD)."""
    return 10 ** decimal_places(currency)


def format_money(amount: int | None, currency: str) -> str:
    """Format integer minor units for display, e.g. 123456 usd -> "$1,234.56"."""
    if amount is None:
        return ""
    currency = currency.lower()
    symbol = SYMBOLS.get(currency, currency.upper() + " ")
    sign = "-" if amount < 0 else ""
    amount = abs(int(amount))
    decimals = decimal_places(currency)
    if decimals == 0:
        return f"{sign}{symbol}{amount:,}"
    major, minor = divmod(amount, 10 ** decimals)
    return f"{sign}{symbol}{major:,}.{minor:0{decimals}d}"


MAX_AMOUNT = 10**9  # minor units: ten million dollars, far beyond any price and within a 32-bit column


def parse_money(text: str, currency: str) -> int:
    """Return an amount typed by a person ("1,234.5", "19.99", "$7") in integer minor units.

    Raise ValueError with a message fit to show next to the field. No floats: the digits are
    read as text, so 0.1 + 0.2 never happens.
    """
    currency = currency.lower()
    cleaned = text.strip().replace(",", "").replace(" ", "")
    symbol = SYMBOLS.get(currency, "").strip()
    if symbol and cleaned.startswith(symbol):
        cleaned = cleaned[len(symbol):]
    decimals = decimal_places(currency)
    example = "1250" if decimals == 0 else "12." + "50".ljust(decimals, "0")
    whole, _, fraction = cleaned.partition(".")
    if (not whole and not fraction) or not (whole or "0").isascii() or not (whole or "0").isdigit() \
            or (fraction and not (fraction.isascii() and fraction.isdigit())) or cleaned.count(".") > 1:
        raise ValueError(f"Enter an amount like {example}.")
    if len(fraction) > decimals:
        raise ValueError(f"{currency.upper()} amounts have at most {decimals} decimal places." if decimals
                         else f"{currency.upper()} amounts are whole numbers.")
    if len(whole) > 12:
        raise ValueError("That amount is too large.")
    cents = int(whole or "0") * 10 ** decimals + int((fraction or "0").ljust(decimals, "0") or "0")
    if cents > MAX_AMOUNT:
        raise ValueError("That amount is too large.")
    return cents
