"""Rate limits on placing orders, per client address and per email: unpaid orders hold stock."""
from flask import current_app, request
from flask_limiter.util import get_remote_address

from shop.auth.limits import retry_message, submitted_account
from shop.extensions import limiter

ORDER_PLACED_KEY = "shop.order_placed"


def mark_order_placed() -> None:
    """Note on this request that it placed an order (recomputing the summary costs nothing)."""
    request.environ[ORDER_PLACED_KEY] = True


def _order_placed(_response) -> bool:
    return request.environ.get(ORDER_PLACED_KEY, False)


def _config(key: str):
    return lambda: current_app.config[key]


placements_per_ip = limiter.limit(
    _config("CHECKOUT_LIMIT_PER_IP"), key_func=get_remote_address, methods=["POST"],
    deduct_when=_order_placed, error_message=retry_message, scope="checkout-ip")
placements_per_email = limiter.limit(
    _config("CHECKOUT_LIMIT_PER_EMAIL"), key_func=submitted_account, methods=["POST"],
    deduct_when=_order_placed, error_message=retry_message, scope="checkout-email")
