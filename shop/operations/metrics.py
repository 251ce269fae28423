"""Prometheus metrics at /metrics, aggregated across gunicorn's workers.

Request counts and latencies are counted by each process: in memory outside gunicorn, and in
gunicorn (PROMETHEUS_MULTIPROC_DIR set by gunicorn.conf.py) in files that any worker sums when
scraped. Business figures are read from the database at scrape time, so they appear once
whichever worker answers.

prometheus_client chooses between in-memory and file-backed values when it is first imported,
so this module imports it only inside functions: gunicorn.conf.py imports this module and calls
prepare_multiprocess_dir() before it loads the app, whose factory calls register().
"""
import atexit
import functools
import glob
import hmac
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, Response, abort, current_app, g, request, request_started

from shop.extensions import db, limiter
from shop.models import Order, OrderItem, OutboxEmail, Refund
from shop.models.base import now_utc
from shop.models.order import MONEY_TAKEN, OrderStatus, PaymentStatus, RefundStatus
from shop.services.mail import MAX_ATTEMPTS

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Any other method (werkzeug accepts arbitrary tokens) is counted as "other": labels stay bounded.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Requests that matched no route (404, 405) share one endpoint label, whatever path they asked for.
UNMATCHED = "unmatched"
WEBHOOK_ENDPOINT = "checkout.webhook"

_prepared_in_pid: int | None = None


def register(app: Flask) -> None:
    """Count requests and serve /metrics when SHOP_METRICS_TOKEN is set."""
    request_metrics()  # now, while one thread runs: two first requests at once would both register them
    request_started.connect(_start_timer, app)
    app.after_request(_count_request)
    app.add_url_rule("/metrics", "metrics", metrics_view)


def prepare_multiprocess_dir() -> None:
    """Point prometheus_client at a fresh folder shared by gunicorn's workers (before the app is imported).

    Without PROMETHEUS_MULTIPROC_DIR a private temporary folder is made, and removed when the
    master exits. A folder named by the environment has last run's files removed: its counts
    would otherwise be added to this run's. Only the first call in a process does anything, so a
    configuration reload (SIGHUP) keeps the counts.
    """
    global _prepared_in_pid
    if _prepared_in_pid == os.getpid():
        return
    _prepared_in_pid = os.getpid()
    folder = os.environ.get(MULTIPROC_DIR)
    if not folder:
        folder = tempfile.mkdtemp(prefix="shop-metrics-")
        os.environ[MULTIPROC_DIR] = folder
        atexit.register(_remove_private_folder, folder, os.getpid())
        return
    os.makedirs(folder, mode=0o700, exist_ok=True)
    # Only prometheus_client's own files: the folder may be shared with something else.
    for path in glob.glob(os.path.join(folder, "*.db")):
        os.remove(path)


def _remove_private_folder(folder: str, master_pid: int) -> None:
    # Forked workers run atexit handlers too when they exit; only the master may remove the folder.
    if os.getpid() == master_pid:
        shutil.rmtree(folder, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """Forget the live gauges of a gunicorn worker that has exited."""
    if os.environ.get(MULTIPROC_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def multiprocess_mode() -> bool:
    """Return whether request metrics live in PROMETHEUS_MULTIPROC_DIR (under gunicorn)."""
    return bool(os.environ.get(MULTIPROC_DIR))


class RequestMetrics:
    """The metrics each process counts itself: requests per endpoint and failed webhook deliveries."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram, disable_created_metrics

        # Creation times double the series and say nothing Prometheus cannot see from a reset.
        disable_created_metrics()
        self.requests: Counter = Counter(
            "shop_http_requests", "HTTP requests answered, by Flask endpoint, method and status class.",
            ["endpoint", "method", "status"])
        self.duration: Histogram = Histogram(
            "shop_http_request_duration_seconds", "Time from routing a request to its response, by Flask endpoint.",
            ["endpoint", "method"])
        self.webhook_failures: Counter = Counter(
            "shop_webhook_failures",
            "Payment webhook deliveries not accepted: rejected (4xx, e.g. a bad signature) or error (5xx).",
            ["outcome"])
        for outcome in ("rejected", "error"):
            self.webhook_failures.labels(outcome)


@functools.cache
def request_metrics() -> RequestMetrics:
    """Return this process's request metrics, made by the first app (in the default registry)."""
    return RequestMetrics()


def _start_timer(sender: Flask, **extra: Any) -> None:
    # request_started fires before any before_request hook, so a request refused by one (a
    # foreign host) is timed too.
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None and rule.endpoint else UNMATCHED
    method = request.method if request.method in KNOWN_METHODS else "other"
    metrics = request_metrics()
    metrics.requests.labels(endpoint, method, f"{response.status_code // 100}xx").inc()
    started = g.pop("metrics_started", None)
    if started is not None:
        metrics.duration.labels(endpoint, method).observe(time.perf_counter() - started)
    if endpoint == WEBHOOK_ENDPOINT and response.status_code >= 400:
        metrics.webhook_failures.labels("error" if response.status_code >= 500 else "rejected").inc()
    return response


@limiter.exempt
def metrics_view() -> Response:
    """Serve the metrics in Prometheus's text format to a scraper bearing SHOP_METRICS_TOKEN."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)  # off: indistinguishable from a page that does not exist
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return _plain("A bearer token is required.\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'})
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header may hold any Latin-1 character.
    if not hmac.compare_digest(offered.strip().encode(), str(token).encode()):
        return _plain("That token is not the metrics token.\n", 403)
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

    # The classic text format, which every Prometheus version reads (the library's "latest" is 1.0.0).
    return _plain(exposition(), 200, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _plain(body: str | bytes, status: int, headers: dict | None = None,
           content_type: str = "text/plain; charset=utf-8") -> Response:
    response = Response(body, status, headers, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def exposition() -> bytes:
    """Return every metric in Prometheus's text format: this process's (or all workers') and the database's."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    registry.register(ShopFigures())
    if not multiprocess_mode():
        # The default registry adds this process's CPU, memory and garbage-collector figures.
        return generate_latest(REGISTRY) + generate_latest(registry)
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


@dataclass
class Figures:
    """The shop's business figures at one moment, per currency or reservation state."""

    paid: dict[str, tuple[int, int]]  # currency: (orders, total charged in minor units)
    refunded: dict[str, tuple[int, int]]  # currency: (succeeded refunds, amount in minor units)
    emails_queued: int
    emails_given_up: int
    oldest_queued_seconds: float
    reservations: dict[str, tuple[int, int]]  # "active" or "overdue": (orders, units)


def read_figures(currency: str) -> Figures:
    """Read the figures from the database in four aggregate statements, whatever its size."""
    now = now_utc()
    paid = {currency: (0, 0)}
    paid.update({row.currency: (row.count, row.total) for row in db.session.execute(
        sa.select(Order.currency, sa.func.count().label("count"),
                  sa.func.coalesce(sa.func.sum(Order.total_cents), 0).label("total"))
        .where(Order.payment_status.in_(MONEY_TAKEN)).group_by(Order.currency))})
    refunded = {currency: (0, 0)}
    refunded.update({row.currency: (row.count, row.total) for row in db.session.execute(
        sa.select(Order.currency, sa.func.count().label("count"),
                  sa.func.coalesce(sa.func.sum(Refund.amount_cents), 0).label("total"))
        .join(Order, Order.id == Refund.order_id)
        .where(Refund.status == RefundStatus.SUCCEEDED).group_by(Order.currency))})

    trying = OutboxEmail.attempts < MAX_ATTEMPTS
    outbox = db.session.execute(
        sa.select(sa.func.count(sa.case((trying, 1))).label("queued"),
                  sa.func.count(sa.case((~trying, 1))).label("given_up"),
                  sa.func.min(sa.case((trying, OutboxEmail.created_at))).label("oldest"))
        .where(OutboxEmail.sent_at.is_(None))
    ).one()

    state = sa.case((Order.reserved_until > now, "active"), else_="overdue")
    reservations = {"active": (0, 0), "overdue": (0, 0)}
    reservations.update({row.state: (row.orders, row.units) for row in db.session.execute(
        sa.select(state.label("state"), sa.func.count(sa.distinct(Order.id)).label("orders"),
                  sa.func.coalesce(sa.func.sum(OrderItem.quantity), 0).label("units"))
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.status == OrderStatus.PENDING, Order.payment_status == PaymentStatus.UNPAID,
               Order.reserved_until.is_not(None))
        .group_by(state))})
    db.session.rollback()  # only read: hand the connection back

    oldest = (now - outbox.oldest).total_seconds() if outbox.oldest is not None else 0.0
    return Figures(paid=paid, refunded=refunded, emails_queued=outbox.queued, emails_given_up=outbox.given_up,
                   oldest_queued_seconds=max(oldest, 0.0), reservations=reservations)


class ShopFigures:
    """A custom collector: the business figures, read from the database when scraped."""

    def collect(self) -> Iterator["Metric"]:
        """Yield the figures as metric families (prometheus_client's collector protocol)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        figures = read_figures(str(current_app.config["CURRENCY"]))
        by_currency = [
            ("shop_orders_paid", "Orders whose payment was taken (those refunded later included).", figures.paid, 0),
            ("shop_revenue_minor_units", "Total charged on those orders, in the currency's minor unit (cents).",
             figures.paid, 1),
            ("shop_refunds", "Refunds that succeeded.", figures.refunded, 0),
            ("shop_refunded_minor_units", "Money returned by succeeded refunds, in minor units.", figures.refunded, 1),
        ]
        for name, documentation, values, position in by_currency:
            counter = CounterMetricFamily(name, documentation, labels=["currency"])
            for currency, pair in sorted(values.items()):
                counter.add_metric([currency], pair[position])
            yield counter
        yield GaugeMetricFamily("shop_outbox_emails_queued", "Emails waiting to be sent (still being tried).",
                                value=figures.emails_queued)
        yield GaugeMetricFamily("shop_outbox_emails_given_up",
                                f"Emails never sent: the mail server refused each {MAX_ATTEMPTS} times.",
                                value=figures.emails_given_up)
        yield GaugeMetricFamily("shop_outbox_oldest_queued_age_seconds",
                                "How long the oldest email still waiting has been queued; 0 when none waits.",
                                value=figures.oldest_queued_seconds)
        by_state = [
            ("shop_reservations_held", "Unpaid orders holding stock: active while their reservation lasts, then "
             "overdue until `flask shop release-expired` releases them.", 0),
            ("shop_reserved_units", "Units of stock those orders hold.", 1),
        ]
        for name, documentation, position in by_state:
            gauge = GaugeMetricFamily(name, documentation, labels=["state"])
            for state, pair in figures.reservations.items():
                gauge.add_metric([state], pair[position])
            yield gauge
