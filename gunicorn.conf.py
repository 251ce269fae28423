"""Gunicorn settings for `make run` and production: gunicorn --config gunicorn.conf.py.

The command line and GUNICORN_CMD_ARGS (gunicorn's own) override anything here; the settings an
owner tunes most also read the environment variables named beside them.
"""
import os

from gunicorn import glogging

from shop.operations.logs import RedactingFilter, redact, shop_handler
from shop.operations.metrics import prepare_multiprocess_dir

wsgi_app = "wsgi:app"

# Before the app (and prometheus_client) is imported, so every worker writes its metrics to one folder.
prepare_multiprocess_dir()


def _whole_number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {value!r}.")
    return int(value)


def _cpus() -> int:
    # The CPUs this process may use (a container's or a taskset's share), not all the machine has.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Gunicorn's rule of thumb, two workers per CPU plus one: a page spends much of its time waiting on
# the database or Stripe, and meanwhile another worker uses the CPU. At most 8, because each worker
# holds up to threads + 2 database connections (its requests, the email sender, the settings
# reader) and 8 × 6 stays well under Postgres's default max_connections of 100.
workers = _whole_number("GUNICORN_WORKERS", _whole_number("WEB_CONCURRENCY", min(2 * _cpus() + 1, 8)))
# More than one thread makes gunicorn use its gthread worker: a slow Stripe call holds one thread,
# not a whole process, and kept-alive connections wait in the worker's poller, not in a thread.
threads = _whole_number("GUNICORN_THREADS", 4)
# A worker that does not check in for this long is killed and replaced (a stuck request, not a slow one).
timeout = _whole_number("GUNICORN_TIMEOUT", 30)
# On SIGTERM (systemctl stop, a deploy) workers finish the requests they have for up to this long.
graceful_timeout = _whole_number("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle connection from nginx or a browser stays open for its next request.
keepalive = _whole_number("GUNICORN_KEEPALIVE", 5)
# The app is loaded once and the workers forked from it: they start at once and share its memory.
# Nothing it creates may hold a connection or a thread across the fork (see post_fork).
preload_app = True
# The heartbeat file in memory: a disk-backed /tmp (some containers) can stall it and get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "shop"
# gunicornc's control socket only where GUNICORN_CONTROL_SOCKET puts it: its default path in the
# user's home is shared by every gunicorn that user runs, so gunicornc could reach another shop.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# One line per response on stderr, after the app's own shop.request line: the request id (as sent
# in the X-Request-ID response header), method, path without its query string (order links carry
# their token there) and with tokens masked, status, bytes sent and time in milliseconds.
accesslog = "-"
access_log_format = '%(h)s %({x-request-id}o)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

# forwarded_allow_ips stays gunicorn's default (127.0.0.1 and ::1): only a proxy on this machine may
# tell gunicorn that a request came over https. The client's address (the shop.request line, rate
# limits) comes from X-Forwarded-For only with SHOP_PROXY_FIX, behind one proxy: see the README's
# nginx section. The access line's first field stays the address gunicorn saw, the proxy's.


class ShopLogger(glogging.Logger):
    """Gunicorn's error and access lines through the shop's log handler: one format, secrets masked."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log, target in ((self.error_log, cfg.errorlog), (self.access_log, cfg.accesslog)):
            for handler in [handler for handler in log.handlers if getattr(handler, "_gunicorn", False)]:
                if target == "-":
                    log.removeHandler(handler)
                else:
                    handler.addFilter(RedactingFilter())
            if target == "-":
                log.addHandler(shop_handler())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "q", "f"):  # request line, path, query string, referrer
            atoms[name] = redact(str(atoms[name]))
        for header in ("{cookie}i", "{authorization}i", "{set-cookie}o"):
            atoms.pop(header, None)
        return atoms


logger_class = ShopLogger


def on_starting(server) -> None:
    from shop.config import refuse_generated_secret_key

    refuse_generated_secret_key(server.cfg.workers)


def post_fork(server, worker) -> None:
    """Make the new worker open database connections of its own, never the master's."""
    if not server.cfg.preload_app:
        return
    from shop.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            # close=False: a connection the master may hold stays the master's; the worker forgets it.
            # The store settings' engine (NullPool) keeps no connection, so it has nothing to forget.
            engine.dispose(close=False)


def child_exit(server, worker) -> None:
    from shop.operations.metrics import worker_exited

    worker_exited(worker.pid)
