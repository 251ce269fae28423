"""Rate limits on placing orders, per client address and per email: unpaid orders hold stock."""
from shop.core.limits import RequestMark, by_client_address, by_email_typed, form_limit

# Only placements count: recomputing the summary or a double submit of one form places nothing new.
order_placed = RequestMark("order_placed")

placements_per_ip = form_limit("CHECKOUT_LIMIT_PER_IP", by_client_address, "checkout-ip", counts=order_placed)
placements_per_email = form_limit("CHECKOUT_LIMIT_PER_EMAIL", by_email_typed, "checkout-email", counts=order_placed)
