"""A local imitation of the parts of the Stripe API the shop calls, for tests without network.

The real stripe SDK talks to it over HTTP, so tests can assert exactly what the shop sent. It is
as strict as Stripe where the shop could go wrong: parameters are checked against the SDK's
parameter types (generated from Stripe's OpenAPI spec), strings and metadata against Stripe's
limits, amounts against each currency's rules and the minimum charge, and refunds against what
is left to refund. Its facts about currencies are its own copy of Stripe's documentation, not
the shop's, so a mistake in the shop's tables shows up here.
"""
import json
import re
import secrets
import sys
import threading
import time
import typing
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import UnionType
from urllib.parse import parse_qsl, urlsplit

from stripe._request_options import RequestOptions
from stripe._stripe_object import StripeObject
from stripe.params import (
    BalanceRetrieveParams,
    CouponCreateParams,
    RefundCreateParams,
    RefundListParams,
    RefundRetrieveParams,
)
from stripe.params.checkout import (
    SessionCreateParams,
    SessionExpireParams,
    SessionListParams,
    SessionRetrieveParams,
)
from typing_extensions import is_typeddict

# docs.stripe.com/currencies: amounts are in the minor unit, except these have none.
ZERO_DECIMAL = frozenset(["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
                          "xaf", "xof", "xpf"])
# Sent with three decimals, the last of which must be 0.
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])
# Whole krónur, written with two decimals that are always 00.
WHOLE_HUNDREDS = frozenset(["isk"])
# The minimum charge per settlement currency, in the API's units; others are taken as 50 units.
MINIMUM_CHARGE = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500, "dkk": 250,
    "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300,
    "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50,
}
DEFAULT_MINIMUM_CHARGE = 50
MAXIMUM_AMOUNT = 99_999_999  # eight digits
# Strings are at most 5000 characters unless the API reference says less.
MAX_STRING = 5000
STRING_LIMITS = {
    ("coupon", "name"): 40,
    ("checkout.session", "client_reference_id"): 200,
    ("checkout.session", "shipping_options[][shipping_rate_data][display_name]"): 100,
}
METADATA_KEYS, METADATA_KEY_LENGTH, METADATA_VALUE_LENGTH = 50, 40, 500
REFUND_STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled")
# Refunds that no longer hold any of the payment.
RELEASED_REFUND_STATUSES = ("failed", "canceled")
# What each endpoint accepts: the SDK's parameter types, minus the SDK's own request options.
REQUEST_OPTIONS = frozenset(RequestOptions.__annotations__)


def nest(pairs) -> dict:
    """Turn Stripe's form pairs (`a[b][0][c]=1`) into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        path = re.findall(r"[^\[\]]+", key)
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return _listify(root)


def decode_form(body: str) -> dict:
    """Decode Stripe's form encoding into nested dicts and lists."""
    return nest(parse_qsl(body, keep_blank_values=True))


def _listify(node):
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_listify(node[key]) for key in sorted(node, key=int)]
    return {key: _listify(value) for key, value in node.items()}


def stripe_error(message: str, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> dict:
    """Return an error body shaped like Stripe's."""
    error = {"type": type_, "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    return {"error": error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> tuple[int, dict]:
    return 400, stripe_error(message, code=code, param=param)


def param_name(parts: list) -> str:
    """Write a parameter path as Stripe does: line_items[0][price_data][currency]."""
    return str(parts[0]) + "".join(f"[{part}]" for part in parts[1:])


def display_amount(amount: int, currency: str) -> str:
    """Write an amount in the API's units as Stripe's messages do, e.g. $0.50 or 50 JPY."""
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    digits = 3 if currency in THREE_DECIMAL else 2
    major, minor = divmod(amount, 10 ** digits)
    text = f"{major}.{minor:0{digits}d}"
    return f"${text}" if currency == "usd" else f"{text} {currency.upper()}"


def minimum_charge(currency: str) -> int:
    return MINIMUM_CHARGE.get(currency, DEFAULT_MINIMUM_CHARGE)


# Parameter checking against the SDK's types.

def _alternatives(annotation, namespace) -> list:
    """Return the types a parameter may take, forward references resolved and NotRequired unwrapped."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        annotation = eval(annotation, namespace)  # the SDK's own annotation text
    origin = typing.get_origin(annotation)
    if origin in (typing.NotRequired, typing.Required):
        return _alternatives(typing.get_args(annotation)[0], namespace)
    if origin in (typing.Union, UnionType):
        return [alt for arg in typing.get_args(annotation) for alt in _alternatives(arg, namespace)]
    return [annotation]


def _is_mapping(option) -> bool:
    origin = typing.get_origin(option)
    return isinstance(origin, type) and issubclass(origin, (dict, StripeObject))


def _namespace(cls) -> dict:
    return vars(sys.modules[cls.__module__])


def check_params(value, annotation, namespace, parts: list) -> tuple[int, dict] | None:
    """Return Stripe's 400 for the first unknown parameter or malformed value, else None."""
    options = _alternatives(annotation, namespace)
    name = param_name(parts) if parts else ""
    if isinstance(value, dict):
        shape = next((option for option in options if is_typeddict(option)), None)
        if shape is not None:
            fields = {key: kind for key, kind in shape.__annotations__.items()
                      if parts or key not in REQUEST_OPTIONS}
            for key, sub in value.items():
                if key not in fields:
                    unknown = param_name([*parts, key])
                    return invalid(f"Received unknown parameter: {unknown}", unknown, "parameter_unknown")
                refused = check_params(sub, fields[key], _namespace(shape), [*parts, key])
                if refused:
                    return refused
            return None
        if any(_is_mapping(option) for option in options):
            return None  # free-form keys, such as metadata
        return invalid(f"Invalid {name}: expected a single value, not a hash", name, "parameter_invalid_string")
    if isinstance(value, list):
        lists = [option for option in options if typing.get_origin(option) is list]
        if not lists:
            return invalid(f"Invalid {name}: expected a single value, not an array", name, "parameter_invalid_string")
        for index, item in enumerate(value):
            refused = check_params(item, typing.get_args(lists[0])[0], namespace, [*parts, index])
            if refused:
                return refused
        return None
    return _check_scalar(str(value), options, name)


def _check_scalar(value: str, options: list, name: str) -> tuple[int, dict] | None:
    if all(is_typeddict(option) or _is_mapping(option) or typing.get_origin(option) is list for option in options):
        return invalid(f"Invalid {name}: expected an array or a hash, not {value!r}", name, "parameter_invalid_string")
    literals = [arg for option in options if typing.get_origin(option) is typing.Literal
                for arg in typing.get_args(option)]
    if value == "" and "" in literals:
        return None
    enum = [literal for literal in literals if literal != ""]
    if enum and value not in enum:
        return invalid(f"Invalid {name}: must be one of {', '.join(map(str, enum))}", name, "parameter_invalid_string")
    if str in options or enum:
        return None
    if int in options and not re.fullmatch(r"-?\d+", value):
        return invalid(f"Invalid integer: {value}", name, "parameter_invalid_integer")
    if bool in options and value not in ("true", "false"):
        return invalid(f"Invalid boolean: {value}", name, "parameter_invalid_boolean")
    if (float in options or Decimal in options) and int not in options:
        try:
            Decimal(value)
        except InvalidOperation:
            return invalid(f"Invalid decimal: {value}", name, "parameter_invalid_decimal")
    return None


def check_strings(node, kind: str, parts: list | None = None) -> tuple[int, dict] | None:
    """Return Stripe's 400 for an over-long string or metadata beyond Stripe's limits, else None."""
    parts = parts or []
    if isinstance(node, dict):
        if parts and parts[-1] == "metadata":
            refused = _check_metadata(node, param_name(parts))
            if refused:
                return refused
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        shape = "".join(f"[{'' if isinstance(p, int) else p}]" for p in parts[1:])
        limit = STRING_LIMITS.get((kind, f"{parts[0]}{shape}"), MAX_STRING)
        if len(node) > limit:
            shown = node if len(node) <= 25 else f"{node[:10]}...{node[-10:]}"
            return invalid(f"Invalid string: {shown}; must be at most {limit} characters", param_name(parts))
        return None
    for key, value in items:
        refused = check_strings(value, kind, [*parts, key])
        if refused:
            return refused
    return None


def _check_metadata(metadata: dict, name: str) -> tuple[int, dict] | None:
    if len(metadata) > METADATA_KEYS:
        return invalid(f"Invalid {name}: metadata can have at most {METADATA_KEYS} keys", name)
    for key, value in metadata.items():
        if len(key) > METADATA_KEY_LENGTH or "[" in key or "]" in key:
            return invalid(f"Invalid {name}: metadata keys must be at most {METADATA_KEY_LENGTH} characters "
                           f"without square brackets ({key!r})", f"{name}[{key}]")
        if not isinstance(value, str) or len(value) > METADATA_VALUE_LENGTH:
            return invalid(f"Invalid {name}[{key}]: metadata values must be strings of at most "
                           f"{METADATA_VALUE_LENGTH} characters", f"{name}[{key}]")
    return None


def check_amount(raw, currency: str, name: str, positive: bool = False) -> tuple[int, dict] | None:
    """Return Stripe's 400 for an amount the currency cannot take, else None."""
    if raw is None:
        return invalid(f"Missing required param: {name}.", name, "parameter_missing")
    if not re.fullmatch(r"\d+", str(raw)) or (positive and int(raw) == 0):
        kind = "positive" if positive else "non-negative"
        return invalid(f"Invalid {kind} integer: {raw}", name, "parameter_invalid_integer")
    amount = int(raw)
    if amount > MAXIMUM_AMOUNT:
        return invalid(f"Invalid integer: {raw}; amounts must be at most {MAXIMUM_AMOUNT}", name, "amount_too_large")
    if currency in WHOLE_HUNDREDS and amount % 100:
        return invalid(f"Invalid {name}: {currency.upper()} amounts are whole units written with two decimals "
                       f"of 00, so they must be divisible by 100 ({amount})", name, "invalid_amount")
    if currency in THREE_DECIMAL and amount % 10:
        return invalid(f"Invalid {name}: {currency.upper()} amounts must end in 0 ({amount})", name,
                       "invalid_amount")
    return None


def check_currency(raw, name: str) -> tuple[int, dict] | None:
    if not isinstance(raw, str) or not re.fullmatch(r"[a-z]{3}", raw):
        return invalid(f"Invalid currency: {raw}. Stripe takes lower-case three-letter ISO codes.", name,
                       "parameter_invalid_string")
    return None


def expansions(params: dict, listing: bool, allowed: set[str]) -> tuple[list[str], tuple[int, dict] | None]:
    """Return the fields a request expands, or Stripe's 400 for one it cannot."""
    wanted = params.get("expand", [])
    wanted = wanted if isinstance(wanted, list) else [wanted]
    fields = []
    for index, path in enumerate(wanted):
        name = f"expand[{index}]"
        if listing:
            if not path.startswith("data."):
                return [], invalid(f"This property cannot be expanded ({path}). You may want to try expanding "
                                   f"'data.{path}' instead.", name)
            path = path[len("data."):]
        if path not in allowed:
            return [], invalid(f"This property cannot be expanded ({path}).", name)
        fields.append(path)
    return fields, None


def _copy(value):
    return json.loads(json.dumps(value))


class StripeStandIn:
    """The fake API's state, its switches, and the HTTP server that serves it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.stand_in = self
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.reset()

    def start(self) -> "StripeStandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every object and request, and work normally again."""
        with self.lock:
            self.sessions: dict[str, dict] = {}
            self.payment_intents: dict[str, dict] = {}
            self.coupons: dict[str, dict] = {}
            self.refunds: list[dict] = []
            self.requests: list[dict] = []
            self.idempotent: dict[str, tuple[str, dict, tuple[int, dict]]] = {}
            self.failure: tuple[int, dict] | None = None
            # What a new refund's status is: tests set "pending", "requires_action" or "failed".
            self.next_refund_status = "succeeded"
            # Stripe pages lists of up to 100; tests lower it to exercise paging.
            self.page_size = 100
            self._intent_metadata: dict[str, dict] = {}
            self._previous: dict[str, dict] = {}

    # Switches tests flip.

    def fail_with(self, status: int = 500, message: str = "Something went wrong on Stripe's end.",
                  type_: str = "api_error") -> None:
        """Answer every request with this HTTP status and a Stripe-style error body."""
        self.failure = (status, stripe_error(message, type_))

    def recover(self) -> None:
        self.failure = None

    def mark_paid(self, session_id: str) -> dict:
        """Complete a session as a shopper paying by card would."""
        return self._update(session_id, status="complete", payment_status="paid",
                            payment_intent=self._new_intent(session_id, "succeeded"))

    def mark_processing(self, session_id: str) -> dict:
        """Complete a session with an async method (bank debit) that has not settled yet."""
        return self._update(session_id, status="complete", payment_status="unpaid",
                            payment_intent=self._new_intent(session_id, "processing"))

    def mark_async_paid(self, session_id: str) -> dict:
        self._set_intent_status(session_id, "succeeded")
        return self._update(session_id, payment_status="paid")

    def mark_async_failed(self, session_id: str) -> dict:
        """Fail the async payment: the session stays unpaid and its intent wants another method."""
        self._set_intent_status(session_id, "requires_payment_method")
        return self._update(session_id)

    def _new_intent(self, session_id: str, status: str) -> str:
        with self.lock:
            session = self.sessions[session_id]
            intent = {"id": f"pi_test_{secrets.token_hex(8)}", "object": "payment_intent", "status": status,
                      "amount": session["amount_total"], "currency": session["currency"],
                      "latest_charge": f"ch_test_{secrets.token_hex(8)}",
                      "metadata": self._intent_metadata.get(session_id, {})}
            self.payment_intents[intent["id"]] = intent
            return intent["id"]

    def _set_intent_status(self, session_id: str, status: str) -> None:
        with self.lock:
            self.payment_intents[self.sessions[session_id]["payment_intent"]]["status"] = status

    def mark_expired(self, session_id: str) -> dict:
        return self._update(session_id, status="expired")

    def set_created(self, session_id: str, created: int) -> dict:
        return self._update(session_id, created=created)

    def _update(self, session_id: str, **fields) -> dict:
        with self.lock:
            self.sessions[session_id].update(fields)
            return _copy(self.sessions[session_id])

    def settle_refund(self, refund_id: str, status: str, failure_reason: str | None = None) -> dict:
        """Move a refund on, as the bank's answer would: to succeeded, failed, canceled..."""
        assert status in REFUND_STATUSES, f"Stripe has no refund status {status!r}"
        with self.lock:
            refund = self._refund(refund_id)
            self._previous[refund_id] = {"status": refund["status"]}
            refund["status"] = status
            refund["failure_reason"] = (failure_reason or "unknown") if status == "failed" else None
            refund["next_action"] = None
            return _copy(refund)

    def _refund(self, refund_id: str) -> dict:
        refund = next((refund for refund in self.refunds if refund["id"] == refund_id), None)
        assert refund is not None, f"no refund {refund_id}"
        return refund

    def event(self, session_id: str, type_: str, event_id: str | None = None) -> dict:
        """Return the event Stripe would send now about this session."""
        with self.lock:
            session = _copy(self.sessions[session_id])
        return self._event(type_, session, event_id)

    def refund_event(self, refund_id: str, type_: str, event_id: str | None = None) -> dict:
        """Return the event Stripe would send now about this refund: refund.* or charge.refunded."""
        with self.lock:
            refund = self._refund(refund_id)
            if type_.startswith("charge."):
                return self._event(type_, self._charge(refund["payment_intent"]), event_id)
            return self._event(type_, _copy(refund), event_id, self._previous.get(refund_id))

    def _charge(self, intent_id: str) -> dict:
        intent = self.payment_intents[intent_id]
        refunds = self._refunds_of(intent_id)
        refunded = sum(refund["amount"] for refund in refunds if refund["status"] not in RELEASED_REFUND_STATUSES)
        return _copy({
            "id": intent["latest_charge"], "object": "charge", "amount": intent["amount"],
            "amount_captured": intent["amount"], "amount_refunded": refunded, "refunded": refunded == intent["amount"],
            "captured": True, "paid": True, "status": "succeeded", "currency": intent["currency"],
            "payment_intent": intent_id, "metadata": intent["metadata"], "livemode": False,
            "refunds": {"object": "list", "data": refunds, "has_more": False, "total_count": len(refunds),
                        "url": f"/v1/charges/{intent['latest_charge']}/refunds"},
        })

    @staticmethod
    def _event(type_: str, obj: dict, event_id: str | None, previous: dict | None = None) -> dict:
        data: dict = {"object": obj}
        if previous and type_.endswith(".updated"):
            data["previous_attributes"] = previous
        return {
            "id": event_id or f"evt_test_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": "2025-01-01",
            "created": int(time.time()),
            "livemode": False,
            "type": type_,
            "data": data,
        }

    def only_session(self) -> dict:
        """Return the one session created so far."""
        assert len(self.sessions) == 1, f"expected one Checkout Session, got {len(self.sessions)}"
        return next(iter(self.sessions.values()))

    def posts(self, path: str) -> list[dict]:
        """Return the recorded POST requests to a path."""
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == path]

    # The API.

    def handle(self, method: str, path: str, query: dict, form: dict, headers: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query, "form": form,
                                  "headers": headers})
            if self.failure:
                return self.failure
            if not headers.get("authorization", "").startswith("Bearer sk_"):
                return 401, stripe_error("Invalid API Key provided.")
            key = headers.get("idempotency-key")
            if method == "POST" and key and key in self.idempotent:
                original_path, original_form, response = self.idempotent[key]
                if (original_path, original_form) != (path, form):
                    return 400, stripe_error("Keys for idempotent requests can only be used with the "
                                             "same parameters they were first used with.",
                                             code="idempotency_error")
                return response
            response = self._route(method, path, form if method == "POST" else nest(query.items()))
            if method == "POST" and key:
                self.idempotent[key] = (path, form, response)
            return response

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if path == "/v1/checkout/sessions":
            if method == "POST":
                return self._checked(params, SessionCreateParams, "checkout.session", self._create_session)
            return self._checked(params, SessionListParams, "list", self._list_sessions)
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
        if match:
            session_id, expire = match.groups()
            if method == "GET" and not expire:
                return self._checked(params, SessionRetrieveParams, "checkout.session",
                                     lambda p: self._retrieve_session(session_id, p))
            if method == "POST" and expire:
                return self._checked(params, SessionExpireParams, "checkout.session",
                                     lambda p: self._expire_session(session_id, p))
        if method == "POST" and path == "/v1/coupons":
            return self._checked(params, CouponCreateParams, "coupon", self._create_coupon)
        if path == "/v1/refunds":
            if method == "POST":
                return self._checked(params, RefundCreateParams, "refund", self._create_refund)
            return self._checked(params, RefundListParams, "list", self._list_refunds)
        match = re.fullmatch(r"/v1/refunds/([^/]+)", path)
        if match and method == "GET":
            return self._checked(params, RefundRetrieveParams, "refund",
                                 lambda p: self._retrieve_refund(match.group(1), p))
        if method == "GET" and path == "/v1/balance":
            return self._checked(params, BalanceRetrieveParams, "balance", lambda p: (200, {
                "object": "balance", "livemode": False, "available": [], "pending": []}))
        return 404, stripe_error(f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _checked(params: dict, spec, kind: str, answer) -> tuple[int, dict]:
        """Refuse what Stripe would refuse for any endpoint, then answer."""
        return (check_params(params, spec, _namespace(spec), []) or check_strings(params, kind)
                or answer(params))

    def _create_session(self, form):
        for required in ("mode", "line_items", "success_url"):
            if required not in form:
                return invalid(f"Missing required param: {required}.", required, "parameter_missing")
        _, refused = expansions(form, False, {"payment_intent"})
        if refused:
            return refused
        if form["mode"] != "payment":
            return invalid("The stand-in only knows payment mode.", "mode")
        currency = None
        subtotal = 0
        for index, item in enumerate(form["line_items"]):
            name = f"line_items[{index}]"
            price_data = item.get("price_data")
            if not isinstance(price_data, dict):
                return invalid(f"Missing required param: {name}[price_data].", f"{name}[price_data]",
                               "parameter_missing")
            currency = currency or price_data.get("currency")
            refused = (check_currency(price_data.get("currency"), f"{name}[price_data][currency]")
                       or check_amount(price_data.get("unit_amount"), currency, f"{name}[price_data][unit_amount]"))
            if refused:
                return refused
            if price_data["currency"] != currency:
                return invalid("All line items must use the same currency.", f"{name}[price_data][currency]")
            if not price_data.get("product_data", {}).get("name"):
                return invalid(f"Missing required param: {name}[price_data][product_data][name].",
                               f"{name}[price_data][product_data][name]", "parameter_missing")
            if not re.fullmatch(r"[1-9]\d*", str(item.get("quantity", ""))):
                return invalid(f"Invalid positive integer: {item.get('quantity')}", f"{name}[quantity]",
                               "parameter_invalid_integer")
            subtotal += int(price_data["unit_amount"]) * int(item["quantity"])
        shipping = 0
        for index, option in enumerate(form.get("shipping_options", [])):
            name = f"shipping_options[{index}][shipping_rate_data]"
            rate = option.get("shipping_rate_data", {})
            if not rate.get("display_name"):
                return invalid(f"Missing required param: {name}[display_name].", f"{name}[display_name]",
                               "parameter_missing")
            fixed = rate.get("fixed_amount", {})
            refused = (check_amount(fixed.get("amount"), currency, f"{name}[fixed_amount][amount]")
                       or check_currency(fixed.get("currency"), f"{name}[fixed_amount][currency]"))
            if refused:
                return refused
            if fixed["currency"] != currency:
                return invalid("The shipping rate's currency must match the line items'.",
                               f"{name}[fixed_amount][currency]")
            if index == 0:  # the first option is the one selected
                shipping = int(fixed["amount"])
        discount = 0
        for index, entry in enumerate(form.get("discounts", [])):
            coupon = self.coupons.get(entry.get("coupon", ""))
            if coupon is None:
                return invalid(f"No such coupon: '{entry.get('coupon')}'", f"discounts[{index}][coupon]",
                               "resource_missing")
            if coupon["currency"] != currency:
                return invalid(f"The coupon's currency ({coupon['currency']}) must match the Checkout Session's "
                               f"({currency}).", f"discounts[{index}][coupon]")
            discount += coupon["amount_off"]
        total = subtotal - min(discount, subtotal) + shipping
        if 0 < total < minimum_charge(currency):
            return invalid(f"The Checkout Session's total amount due must add up to at least "
                           f"{display_amount(minimum_charge(currency), currency)}", None, "amount_too_small")
        if total > MAXIMUM_AMOUNT:
            return invalid(f"The Checkout Session's total amount due must be at most "
                           f"{display_amount(MAXIMUM_AMOUNT, currency)}", None, "amount_too_large")
        now = int(time.time())
        expires_at = int(form.get("expires_at", now + 24 * 3600))
        if not now + 30 * 60 - 5 <= expires_at <= now + 24 * 3600 + 5:
            return invalid("The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
                           "expires_at")
        session_id = f"cs_test_{secrets.token_hex(16)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "url": f"{self.url}/c/pay/{session_id}",
            "amount_subtotal": subtotal,
            "amount_total": total,
            "currency": currency,
            "customer_email": form.get("customer_email"),
            "client_reference_id": form.get("client_reference_id"),
            "metadata": form.get("metadata", {}),
            "payment_status": "unpaid",
            "status": "open",
            "payment_intent": None,
            "created": now,
            "expires_at": expires_at,
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "livemode": False,
        }
        self.sessions[session_id] = session
        self._intent_metadata[session_id] = form.get("payment_intent_data", {}).get("metadata", {})
        return 200, session

    def _retrieve_session(self, session_id: str, query: dict):
        session = self.sessions.get(session_id)
        if session is None:
            return 404, stripe_error(f"No such checkout.session: '{session_id}'", code="resource_missing",
                                     param="id")
        fields, refused = expansions(query, False, {"payment_intent"})
        return refused or (200, self._expanded(session, fields))

    def _expire_session(self, session_id: str, form: dict):
        session = self.sessions.get(session_id)
        if session is None:
            return 404, stripe_error(f"No such checkout.session: '{session_id}'", code="resource_missing",
                                     param="id")
        if session["status"] != "open":
            return invalid(f"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout "
                           f"Session has a status of \"{session['status']}\".")
        session["status"] = "expired"
        return 200, session

    def _list_sessions(self, query: dict):
        fields, refused = expansions(query, True, {"payment_intent"})
        if refused:
            return refused
        sessions = sorted(self.sessions.values(), key=lambda s: (s["created"], s["id"]), reverse=True)
        created = query.get("created")
        if isinstance(created, dict) and "gte" in created:
            sessions = [s for s in sessions if s["created"] >= int(created["gte"])]
        return self._page("/v1/checkout/sessions", sessions, query,
                          lambda session: self._expanded(session, fields))

    def _page(self, url: str, objects: list[dict], query: dict, show=_copy):
        """Answer a list request: newest first, `limit` at a time, after `starting_after`."""
        limit = int(query.get("limit", 10))
        if not 1 <= limit <= 100:
            return invalid("Invalid limit: must be between 1 and 100", "limit")
        if "starting_after" in query:
            ids = [obj["id"] for obj in objects]
            if query["starting_after"] not in ids:
                return invalid(f"No such object: '{query['starting_after']}'", "starting_after", "resource_missing")
            objects = objects[ids.index(query["starting_after"]) + 1:]
        limit = min(limit, self.page_size)
        return 200, {"object": "list", "url": url, "data": [show(obj) for obj in objects[:limit]],
                     "has_more": len(objects) > limit}

    def _expanded(self, session: dict, fields: list[str]) -> dict:
        """Return the session with its payment intent as an object when the request expands it."""
        if "payment_intent" not in fields or session["payment_intent"] is None:
            return session
        return {**session, "payment_intent": self.payment_intents[session["payment_intent"]]}

    def _create_coupon(self, form):
        _, refused = expansions(form, False, set())
        if refused:
            return refused
        if "amount_off" not in form:
            return invalid("The stand-in only knows amount_off coupons; Stripe needs amount_off or percent_off.",
                           "amount_off", "parameter_missing")
        refused = (check_currency(form.get("currency"), "currency")
                   or check_amount(form["amount_off"], form["currency"], "amount_off", positive=True))
        if refused:
            return refused
        coupon = {"id": f"coupon_{secrets.token_hex(6)}", "object": "coupon", "amount_off": int(form["amount_off"]),
                  "currency": form["currency"], "duration": form.get("duration", "once"), "name": form.get("name"),
                  "max_redemptions": form.get("max_redemptions"), "metadata": form.get("metadata", {}),
                  "valid": True, "livemode": False}
        self.coupons[coupon["id"]] = coupon
        return 200, coupon

    def _refunds_of(self, intent_id: str) -> list[dict]:
        """Return the intent's refunds, newest first, as Stripe lists them."""
        mine = [refund for refund in self.refunds if refund["payment_intent"] == intent_id]
        return _copy(sorted(mine, key=lambda refund: (refund["created"], self.refunds.index(refund)), reverse=True))

    def _create_refund(self, form):
        _, refused = expansions(form, False, set())
        if refused:
            return refused
        intent_id = form.get("payment_intent")
        if not intent_id:
            return invalid("The stand-in refunds by payment_intent; Stripe needs charge or payment_intent.",
                           "payment_intent", "parameter_missing")
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            return 404, stripe_error(f"No such payment_intent: '{intent_id}'", code="resource_missing",
                                     param="payment_intent")
        if intent["status"] != "succeeded":
            return invalid(f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                           "payment_intent")
        held = sum(refund["amount"] for refund in self._refunds_of(intent_id)
                   if refund["status"] not in RELEASED_REFUND_STATUSES)
        remaining = intent["amount"] - held
        if remaining <= 0:
            return invalid(f"Charge {intent['latest_charge']} has already been refunded.", None,
                           "charge_already_refunded")
        if "amount" in form:
            refused = check_amount(form["amount"], intent["currency"], "amount", positive=True)
            if refused:
                return refused
        amount = int(form.get("amount", remaining))
        if amount > remaining:
            return invalid(f"Refund amount ({display_amount(amount, intent['currency'])}) is greater than unrefunded "
                           f"amount on charge ({display_amount(remaining, intent['currency'])})", "amount",
                           "amount_too_large")
        status = self.next_refund_status
        refund = {
            "id": f"re_test_{secrets.token_hex(8)}", "object": "refund", "amount": amount,
            "charge": intent["latest_charge"], "created": int(time.time()), "currency": intent["currency"],
            "metadata": form.get("metadata", {}), "payment_intent": intent_id, "reason": form.get("reason"),
            "status": status, "failure_reason": "unknown" if status == "failed" else None,
            "next_action": ({"type": "display_details", "display_details": {"expires_at": int(time.time()) + 86400}}
                            if status == "requires_action" else None),
            "balance_transaction": None, "receipt_number": None,
        }
        self.refunds.append(refund)
        return 200, _copy(refund)

    def _retrieve_refund(self, refund_id: str, query: dict):
        _, refused = expansions(query, False, set())
        if refused:
            return refused
        refund = next((refund for refund in self.refunds if refund["id"] == refund_id), None)
        if refund is None:
            return 404, stripe_error(f"No such refund: '{refund_id}'", code="resource_missing", param="id")
        return 200, _copy(refund)

    def _list_refunds(self, query: dict):
        _, refused = expansions(query, True, set())
        if refused:
            return refused
        refunds = self._refunds_of(query["payment_intent"]) if "payment_intent" in query else _copy(
            sorted(self.refunds, key=lambda refund: (refund["created"], self.refunds.index(refund)), reverse=True))
        return self._page("/v1/refunds", refunds, query)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def _answer(self, method):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, payload = self.server.stand_in.handle(
            method, parts.path, dict(parse_qsl(parts.query)), decode_form(body), headers
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_test_{secrets.token_hex(6)}")
        if status >= 500:
            # Stripe tells the SDK whether a retry could help; the tests want a quick failure.
            self.send_header("Stripe-Should-Retry", "false")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass
