"""A local imitation of the parts of the Stripe API the shop calls, for tests without network.

The real stripe SDK talks to it over HTTP, so tests can assert exactly what the shop sent.
"""
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


def decode_form(body: str) -> dict:
    """Decode Stripe's form encoding (`a[b][0][c]=1`) into nested dicts and lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        path = re.findall(r"[^\[\]]+", key)
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return _listify(root)


def _listify(node):
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_listify(node[key]) for key in sorted(node, key=int)]
    return {key: _listify(value) for key, value in node.items()}


def stripe_error(message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict:
    """Return an error body shaped like Stripe's."""
    return {"error": {"type": type_, "message": message, **({"code": code} if code else {})}}


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
            # Stripe pages lists of up to 100; tests lower it to exercise paging.
            self.page_size = 100

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
                      "amount": session["amount_total"], "currency": session["currency"]}
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
            return json.loads(json.dumps(self.sessions[session_id]))

    def event(self, session_id: str, type_: str, event_id: str | None = None) -> dict:
        """Return the event Stripe would send now about this session."""
        with self.lock:
            session = json.loads(json.dumps(self.sessions[session_id]))
        return {
            "id": event_id or f"evt_test_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": "2025-01-01",
            "created": int(time.time()),
            "livemode": False,
            "type": type_,
            "data": {"object": session},
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
            response = self._route(method, path, query, form)
            if method == "POST" and key:
                self.idempotent[key] = (path, form, response)
            return response

    def _route(self, method, path, query, form):
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(form)
        if method == "GET" and path == "/v1/checkout/sessions":
            return self._list_sessions(query)
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
        if match:
            session = self.sessions.get(match.group(1))
            if session is None:
                return 404, stripe_error(f"No such checkout.session: '{match.group(1)}'", code="resource_missing")
            if method == "GET" and not match.group(2):
                return 200, self._expanded(session, query, "payment_intent")
            if method == "POST" and match.group(2):
                if session["status"] != "open":
                    return 400, stripe_error(f"Only Checkout Sessions with a status in [\"open\"] can be "
                                             f"expired. This Checkout Session has a status of \"{session['status']}\".")
                session["status"] = "expired"
                return 200, session
        if method == "POST" and path == "/v1/coupons":
            return self._create_coupon(form)
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(form)
        return 404, stripe_error(f"Unrecognized request URL ({method}: {path}).")

    def _create_session(self, form):
        for required in ("mode", "line_items", "success_url", "cancel_url"):
            if required not in form:
                return 400, stripe_error(f"Missing required param: {required}.", code="parameter_missing")
        currency = form["line_items"][0]["price_data"]["currency"]
        subtotal = 0
        for item in form["line_items"]:
            if item["price_data"]["currency"] != currency:
                return 400, stripe_error("All line items must use the same currency.")
            if not item["price_data"].get("product_data", {}).get("name"):
                return 400, stripe_error("Missing required param: line_items[price_data][product_data][name].")
            subtotal += int(item["price_data"]["unit_amount"]) * int(item["quantity"])
        shipping = sum(int(option["shipping_rate_data"]["fixed_amount"]["amount"])
                       for option in form.get("shipping_options", [])[:1])
        discount = 0
        for entry in form.get("discounts", []):
            coupon = self.coupons.get(entry.get("coupon", ""))
            if coupon is None:
                return 400, stripe_error(f"No such coupon: '{entry.get('coupon')}'", code="resource_missing")
            discount += int(coupon["amount_off"])
        now = int(time.time())
        expires_at = int(form.get("expires_at", now + 24 * 3600))
        if not now + 30 * 60 - 5 <= expires_at <= now + 24 * 3600 + 5:
            return 400, stripe_error("The `expires_at` timestamp must be between 30 minutes and 24 hours from now.")
        session_id = f"cs_test_{secrets.token_hex(16)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "url": f"{self.url}/c/pay/{session_id}",
            "amount_subtotal": subtotal,
            "amount_total": subtotal + shipping - discount,
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
            "cancel_url": form["cancel_url"],
            "livemode": False,
        }
        self.sessions[session_id] = session
        return 200, session

    def _list_sessions(self, query):
        sessions = sorted(self.sessions.values(), key=lambda s: (s["created"], s["id"]), reverse=True)
        if "created[gte]" in query:
            sessions = [s for s in sessions if s["created"] >= int(query["created[gte]"])]
        if "starting_after" in query:
            ids = [s["id"] for s in sessions]
            sessions = sessions[ids.index(query["starting_after"]) + 1:]
        limit = min(int(query.get("limit", 10)), self.page_size)
        page = [self._expanded(session, query, "data.payment_intent") for session in sessions[:limit]]
        return 200, {"object": "list", "url": "/v1/checkout/sessions", "data": page,
                     "has_more": len(sessions) > limit}

    def _expanded(self, session: dict, query: dict, field_path: str) -> dict:
        """Return the session with its payment intent as an object when the request expands it."""
        expand = [value for key, value in query.items() if key == "expand" or key.startswith("expand[")]
        if field_path not in expand or session["payment_intent"] is None:
            return session
        return {**session, "payment_intent": self.payment_intents[session["payment_intent"]]}

    def _create_coupon(self, form):
        coupon = {"id": f"coupon_{secrets.token_hex(6)}", "object": "coupon", "amount_off": int(form["amount_off"]),
                  "currency": form.get("currency"), "duration": form.get("duration"), "name": form.get("name"),
                  "max_redemptions": form.get("max_redemptions")}
        self.coupons[coupon["id"]] = coupon
        return 200, coupon

    def _create_refund(self, form):
        intent = form.get("payment_intent")
        session = next((s for s in self.sessions.values() if intent and s["payment_intent"] == intent), None)
        if session is None:
            return 404, stripe_error(f"No such payment_intent: '{intent}'", code="resource_missing")
        if any(r["payment_intent"] == intent for r in self.refunds):
            return 400, stripe_error("Charge has already been refunded.", code="charge_already_refunded")
        refund = {"id": f"re_test_{secrets.token_hex(8)}", "object": "refund", "payment_intent": intent,
                  "amount": session["amount_total"], "currency": session["currency"], "status": "succeeded"}
        self.refunds.append(refund)
        return 200, refund


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
