"""Storefront throughput under wrk, as a share of a bare Flask ceiling, at several catalogue sizes.

Usage: make bench [DB=postgres] [SIZES=1000,50000] [DURATION=10]
   or: .venv/bin/python bench/speed.py [--db sqlite|postgres] [--database-url URL] [--sizes 1000,10000,50000]
                                       [--duration 10] [--port 8700]

For each catalogue size: an emptied database (SQLite: a temporary file; Postgres: --database-url,
default postgresql://postgres@127.0.0.1:5432/shop_bench, which it empties, then vacuums and analyses
as autovacuum would) seeded with the demo catalogue and one customer account; the shop served by
gunicorn with gunicorn.conf.py as deployed but 2 sync workers, in production mode on a loopback
address, rate limits off and the shop's log at WARNING (gunicorn's access lines go to a log file
in the run's temporary folder). A bare Flask app (bench/ceiling/) rendering a 3 KB listing from
memory, served by gunicorn with the same workers, is the ceiling.

wrk (2 threads, 16 connections, --duration seconds, script bench/speed.lua) then measures, after
one warm-up request each, the home, category, product, search and cart pages as an anonymous
visitor (no cookie), a shopper with a cart (the session cookie of an add to cart made over HTTP)
and the logged-in customer (logged in through the login form), and POST /cart/add with each
shopper's session and CSRF token. The ceiling is measured before and after each page's runs, and
each run is compared with the mean of the two around it: the machine is shared, and its load
moves. Each run also notes how many CPUs other processes used meanwhile. SQL statements per
request are counted in this process with the test client on the same database and settings, with
the same cookies: the mean of 50 requests after a warm one. The peak RSS is each gunicorn
worker's VmHWM over the size's runs.

Prints a Markdown table per size, marks each row against issue 14's targets, checks that category
and search keep their speed as the catalogue grows, and writes everything to
bench/results/speed-<db>.md. Exits 0 even when a target is missed: it is a report, and speed
moves with the machine's load. wrk comes from Debian: installed with apt-get when missing and
running as root, otherwise the script stops with the command to run.
"""
import argparse
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from flask import Flask

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from fresh_database import fresh_app  # noqa: E402  (beside this script)
from lighthouse_audit import demo_pages  # noqa: E402  (beside this script)

from shop import ROOT, create_app  # noqa: E402
from shop.extensions import db  # noqa: E402
from shop.services.accounts import register_user  # noqa: E402
from shop.services.demo import seed_demo  # noqa: E402
from tests.shopper_http import hidden_fields  # noqa: E402

HERE = Path(__file__).parent
WRK_SCRIPT = HERE / "speed.lua"
CEILING = HERE / "ceiling"
RESULTS = HERE / "results"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/shop_bench"
DEFAULT_SIZES = "1000,10000,50000"
WRK_THREADS, WRK_CONNECTIONS = 2, 16
GUNICORN_WORKERS = ["--workers", "2", "--worker-class", "sync", "--threads", "1"]
SEARCH_WORD = "linen"  # in the names of about 6 % of the demo products: 58 of 1,000
CUSTOMER = ("bench.customer@example.com", "Bench Customer", "bench customer password")
STATEMENT_SAMPLES = 50
START_TIMEOUT = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGES = ("home", "category", "product", "search", "cart")
# Issue 14's targets.
TARGET_PAGES = ("home", "category", "product", "search")
ANONYMOUS_SHARE = 50  # % of the ceiling's req/s
SHOPPER_SHARE = 25
P99_MS = 50  # anonymous visitors
FLAT_SPREAD = 20  # % between the slowest and the fastest size, category and search
RSS_MB = 150


@dataclass
class Visitor:
    """Who sends the requests: their Cookie header, and their add-to-cart form (CSRF token included)."""

    name: str
    cookie: str = ""
    add_to_cart: dict[str, str] | None = None


@dataclass
class Run:
    """One wrk measurement and the statements the same request runs."""

    page: str
    visitor: str
    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    kilobytes: float
    errors: int
    other_cpus: float
    ceiling_rate: float = 0.0  # the ceiling's req/s measured around this run
    statements: float | None = None
    page_cache: str = ""
    verdict: str = ""

    @property
    def share(self) -> float:
        """Return the req/s as a percentage of the ceiling's."""
        return 100 * self.requests_per_second / self.ceiling_rate


@dataclass
class Server:
    """A gunicorn in its own process group, its stderr in a file."""

    name: str
    url: str
    process: subprocess.Popen
    log_path: Path

    def worker_pids(self) -> list[int]:
        """Return the process ids of this gunicorn's workers (the master's children)."""
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                parent = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
            except OSError:  # the process ended while the folder was listed
                continue
            if parent.split()[1] == str(self.process.pid):
                pids.append(int(status.parent.name))
        return pids

    def reset_peak_rss(self) -> None:
        """Start each worker's VmHWM afresh: the setup's login (argon2id) takes 64 MB for a moment."""
        for pid in self.worker_pids():
            Path(f"/proc/{pid}/clear_refs").write_text("5")

    def worker_peak_rss_mb(self) -> list[float]:
        """Return VmHWM, the peak resident memory since the reset, of each worker."""
        peaks = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            peaks.append(int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024)
        return sorted(peaks)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@dataclass
class OwnProcesses:
    """This benchmark's processes: itself and wrk, the gunicorns and, on Postgres, the backends of its database."""

    servers: list[Server]
    database: str | None = None

    def cpu_seconds(self) -> float:
        """Return the CPU seconds they have used so far."""
        own = os.times()  # wrk's runs count among this process's children once they have ended
        total = own.user + own.system + own.children_user + own.children_system
        for server in self.servers:
            total += process_cpu_seconds(server.process.pid, with_children=True)  # workers that have ended
            total += sum(process_cpu_seconds(pid) for pid in server.worker_pids())
        if self.database:
            total += sum(process_cpu_seconds(pid) for pid in postgres_backends(self.database))
        return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default=None,
                        help=f"Postgres database to empty and use (default {DEFAULT_POSTGRES_URL})")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="catalogue sizes, comma-separated")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per measurement")
    parser.add_argument("--port", type=int, default=8700, help="the shop's port; the ceiling's is the next one")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    url = args.database_url or (DEFAULT_POSTGRES_URL if args.db == "postgres" else None)
    wrk_version = ensure_wrk()
    # Stopped by a signal (Ctrl+C raises KeyboardInterrupt), the servers are stopped and the folders removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="shop-speed-"))
    context = run_context(args, sizes, wrk_version)
    busy = other_work_now()
    if busy >= 0.2:
        context.append(f"- Other work was using {busy:.1f} of the {os.cpu_count()} CPUs as the run began: the figures "
                       "will be lower and noisier than on an idle machine (see each row's other work).")
    print("\n".join(context), flush=True)
    sections: list[str] = []
    by_size: dict[int, list[Run]] = {}
    checks: list[tuple[str, bool]] = []
    ceiling = serve_ceiling(args.port + 1, run_dir)
    try:
        for size in sizes:
            app = fresh_app(url)
            try:
                runs, section, size_checks = measure_size(app, size, args, ceiling, run_dir)
            finally:
                shutil.rmtree(app.instance_path, ignore_errors=True)
            by_size[size] = runs
            sections.append(section)
            checks += size_checks
            print("\n" + section, flush=True)
    finally:
        ceiling.stop()
        shutil.rmtree(run_dir, ignore_errors=True)

    flat_lines, flat_checks = flat_cost(by_size)
    checks += flat_checks
    missed = [label for label, ok in checks if not ok]
    summary = [
        *flat_lines,
        "",
        f"Summary: {len(checks) - len(missed)} of {len(checks)} targets met"
        + (f"; missed: {'; '.join(missed)}." if missed else "."),
        f"Load average (1, 5, 15 min) at the end, this benchmark's own load included: {load_average()}; "
        f"whole run {minutes(time.monotonic() - started)}.",
    ]
    print("\n".join(summary))
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = RESULTS / f"speed-{args.db}.md"
    report.write_text("\n".join([*context, *("\n" + section for section in sections), "", *summary]) + "\n",
                      encoding="utf-8")
    print(f"Written to {report}")
    return 0


def ensure_wrk() -> str:
    """Return wrk's version line, installing Debian's wrk first when it is missing and we are root."""
    if not shutil.which("wrk"):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print("Installing wrk with apt-get", flush=True)
            subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk",
                           shell=True, check=True, stdout=subprocess.DEVNULL)
        else:
            raise SystemExit("The benchmark needs wrk: run  sudo apt-get install -y wrk  then make bench again")
    # wrk has no --version: it prints its version above the usage and exits 1.
    output = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return output.splitlines()[0].split(" Copyright")[0] if output else "wrk"


def run_context(args, sizes: list[int], wrk_version: str) -> list[str]:
    """Return the lines saying what was measured, where and with what."""
    described = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                               text=True).stdout.strip() or "not a git checkout"
    return [
        f"# make bench: {args.db}, {', '.join(f'{size:,}' for size in sizes)} products "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, code {described})",
        "",
        f"- {os.cpu_count()} CPUs, load average (1, 5, 15 min) at the start: {load_average()}. "
        f"{wrk_version}: {WRK_THREADS} threads, {WRK_CONNECTIONS} connections, {args.duration} s a page, "
        "after one warm-up request.",
        f"- gunicorn with gunicorn.conf.py as deployed but {' '.join(GUNICORN_WORKERS)}, production mode on "
        "http://127.0.0.1 (SHOP_TESTING_SERVER), rate limits off (SHOP_RATELIMIT_ENABLED=false), the shop's log "
        "at WARNING (no shop.request line per request; gunicorn's access lines still written, to a file).",
        "- Ceiling: bench/ceiling/, bare Flask rendering a 3 KB Jinja listing of 24 products from memory, same "
        "gunicorn workers, measured before and after each page's runs: a row's share of the ceiling is of the "
        "mean of the two around it.",
        "- SQL/req: statements per request in-process (test client, same database, settings and cookies; BEGIN "
        "left out), mean of 50 after a warm one; page cache: the X-Page-Cache header of those responses.",
        f"- Other work, CPUs: the CPU time processes other than this benchmark's (wrk, the two gunicorns, this "
        f"script, its database's Postgres backends) used during the page's run, in CPUs of {os.cpu_count()}; a row "
        "measured while it was high is low.",
    ]


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def measure_size(app: Flask, size: int, args, ceiling: Server, run_dir: Path):
    """Seed the emptied database with `size` products, serve it, measure every page; return runs, table, checks."""
    seeding_started = time.perf_counter()
    with app.app_context():
        seed_demo(size)
        register_user(CUSTOMER[0], CUSTOMER[1], CUSTOMER[2])
        paths = {**demo_pages(), "search": f"/search?q={SEARCH_WORD}", "cart": "/cart"}
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does to a live database soon after a bulk load: planner statistics,
            # and the visibility map that lets index-only scans skip the table.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        db.session.remove()
        db.engine.dispose()
    seeding = time.perf_counter() - seeding_started
    print(f"\n{size:,} products seeded in {seeding:.1f} s", flush=True)

    base_url = f"http://127.0.0.1:{args.port}"
    settings = {
        "ENV": "production", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MEDIA_PATH": app.config["MEDIA_PATH"], "SECRET_KEY": secrets.token_hex(32), "BASE_URL": base_url,
        # Production mode over plain http on 127.0.0.1, which only this test-only flag allows.
        "TESTING_SERVER": True,
        # wrk logs in and adds to cart far faster than the limits allow a person to.
        "RATELIMIT_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }
    shop = serve_shop(app.instance_path, settings, args.port, run_dir)
    try:
        listed = {page: listing_count(requests.get(base_url + paths[page], timeout=30).text)
                  for page in ("category", "search")}
        visitors = shoppers(base_url, paths["product"])
        shop.reset_peak_rss()
        database = sa.engine.make_url(settings["DATABASE_URL"])
        own = OwnProcesses([shop, ceiling], database.database if database.get_backend_name() == "postgresql" else None)
        groups = [[(page, visitor, paths[page]) for visitor in visitors] for page in PAGES]
        groups.append([("add to cart", visitor, "/cart/add") for visitor in visitors if visitor.add_to_cart])
        ceilings = [measure(ceiling, "ceiling", Visitor("anonymous"), "/", args.duration, own)]
        runs = []
        for group in groups:
            page_runs = [measure(shop, page, visitor, path, args.duration, own) for page, visitor, path in group]
            # Measured before and after each page, the ceiling is compared with runs made under the same load.
            ceilings.append(measure(ceiling, "ceiling", Visitor("anonymous"), "/", args.duration, own))
            for run in page_runs:
                run.ceiling_rate = (ceilings[-2].requests_per_second + ceilings[-1].requests_per_second) / 2
            runs += page_runs
        peaks = shop.worker_peak_rss_mb()
    finally:
        shop.stop()
    count_statements(settings, runs, visitors)

    checks = []
    for run in runs:
        checks += judge(run, size)
    rss_ok = bool(peaks) and max(peaks) < RSS_MB
    checks.append((f"peak RSS {max(peaks, default=0):.0f} MB per worker at {size:,}", rss_ok))
    section = table(f"{size:,} products ({args.db})", f"Seeded in {seeding:.0f} s. Category {paths['category']}: "
                    f"{listed['category']}; search {paths['search']}: {listed['search']}; product {paths['product']}.",
                    [ceiling_summary(ceilings), *runs])
    rss = (f"Peak RSS per gunicorn worker (VmHWM while serving these runs, the setup's login left out): "
           f"{', '.join(f'{peak:.0f} MB' for peak in peaks)}: "
           f"{'ok' if rss_ok else 'MISS'} (target < {RSS_MB} MB).")
    return runs, f"{section}\n\n{rss}", checks


def ceiling_summary(ceilings: list[Run]) -> Run:
    """Return the ceiling's runs of one size as one row: the means, and the range of req/s as its visitor."""
    rates = [run.requests_per_second for run in ceilings]
    return Run(page="ceiling", visitor=f"{len(ceilings)} runs, {min(rates):,.0f}–{max(rates):,.0f} req/s", path="/",
               requests_per_second=statistics.mean(rates), p50_ms=statistics.mean(run.p50_ms for run in ceilings),
               p99_ms=statistics.mean(run.p99_ms for run in ceilings), kilobytes=ceilings[0].kilobytes,
               errors=sum(run.errors for run in ceilings),
               other_cpus=statistics.mean(run.other_cpus for run in ceilings), ceiling_rate=statistics.mean(rates))


def table(title: str, note: str, runs: list[Run]) -> str:
    """Return the runs as a Markdown section: a heading, the note, the table."""
    rows = [
        f"| {run.page} | {run.visitor} | {run.requests_per_second:,.0f} | {run.p50_ms:.1f} | {run.p99_ms:.1f} "
        f"| {run.ceiling_rate:,.0f} | {run.share:.0f} % | {run.kilobytes:.1f} "
        f"| {'' if run.statements is None else f'{run.statements:.1f}'} | {run.page_cache} | {run.other_cpus:.1f} "
        f"| {run.verdict} |"
        for run in runs
    ]
    return "\n".join([
        f"## {title}", "", note, "",
        "| page | visitor | req/s | p50 ms | p99 ms | ceiling req/s | share of ceiling | KB | SQL/req | page cache "
        "| other work, CPUs | target |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|---|",
        *rows,
    ])


def judge(run: Run, size: int) -> list[tuple[str, bool]]:
    """Mark the run against its targets (anonymous: share and p99; shoppers: share); return the checks."""
    problems = []
    if run.page in TARGET_PAGES:
        target = ANONYMOUS_SHARE if run.visitor == "anonymous" else SHOPPER_SHARE
        if run.share < target:
            problems.append(f"{run.share:.1f} % < {target} %")
        if run.visitor == "anonymous" and run.p99_ms >= P99_MS:
            problems.append(f"p99 {run.p99_ms:.0f} ms ≥ {P99_MS} ms")
    if run.errors:
        problems.append(f"{run.errors} errors (non-2xx/3xx, timeouts)")
    if run.page not in TARGET_PAGES:
        run.verdict = "; ".join(problems)
        return [(f"{run.page} ({run.visitor}) at {size:,}: {run.verdict}", False)] if problems else []
    run.verdict = "MISS: " + "; ".join(problems) if problems else "ok"
    return [(f"{run.page} ({run.visitor}) at {size:,}: {'; '.join(problems)}", not problems)]


def flat_cost(by_size: dict[int, list[Run]]) -> tuple[list[str], list[tuple[str, bool]]]:
    """Compare the anonymous category and search req/s across sizes: within FLAT_SPREAD % of each other."""
    if len(by_size) < 2:
        return [], []
    lines, checks = ["", f"Flat cost (anonymous, within {FLAT_SPREAD} % of each other across sizes):"], []
    for page in ("category", "search"):
        rates = {size: next(run.requests_per_second for run in runs if run.page == page and
                            run.visitor == "anonymous") for size, runs in by_size.items()}
        spread = 100 * (1 - min(rates.values()) / max(rates.values()))
        ok = spread <= FLAT_SPREAD
        label = f"{page}: " + ", ".join(f"{rate:,.0f} req/s at {size:,}" for size, rate in rates.items())
        lines.append(f"- {label}: the slowest {spread:.0f} % below the fastest: {'ok' if ok else 'MISS'}")
        checks.append((f"flat cost of {page} ({spread:.0f} % apart)", ok))
    return lines, checks


def serve_shop(instance_path: str, settings: dict, port: int, run_dir: Path) -> Server:
    """Start the shop with gunicorn.conf.py and 2 sync workers on the seeded instance; wait until it answers."""
    env = clean_environment()
    env.update({f"SHOP_{name}": json.dumps(value) if isinstance(value, bool) else str(value)
                for name, value in settings.items()})
    env["SHOP_INSTANCE_PATH"] = instance_path
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
               *GUNICORN_WORKERS]
    return start_server("shop", command, ROOT, env, f"http://127.0.0.1:{port}", "/healthz", run_dir)


def serve_ceiling(port: int, run_dir: Path) -> Server:
    """Start the bare Flask ceiling app with the shop's gunicorn workers; wait until it answers."""
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(CEILING), "--bind", f"127.0.0.1:{port}",
               *GUNICORN_WORKERS, "--preload", "--no-control-socket", "app:app"]
    return start_server("ceiling", command, str(CEILING), clean_environment(), f"http://127.0.0.1:{port}", "/",
                        run_dir)


def clean_environment() -> dict[str, str]:
    """Return this environment without the shop's and gunicorn's settings, which would change what is measured."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("SHOP_", "GUNICORN_")) and name != "WEB_CONCURRENCY"}


def start_server(name: str, command: list[str], cwd: str, env: dict, url: str, probe: str, run_dir: Path) -> Server:
    log_path = run_dir / f"{name}-{url.rsplit(':', 1)[1]}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(name, url, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name}'s gunicorn exited at start:\n{server.log_tail()}")
        try:
            if requests.get(url + probe, timeout=10).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{name}'s gunicorn did not answer on {url} within {START_TIMEOUT} s:\n{server.log_tail()}")


def shoppers(base_url: str, product_path: str) -> list[Visitor]:
    """Return the three visitors: anonymous, a shopper who added to the cart over HTTP, the logged-in customer."""
    shopper = requests.Session()
    form = add_to_cart_form(shopper, base_url, product_path)
    # Followed to the cart page, which shows the "Added" message and so takes it out of the session.
    added = shopper.post(base_url + "/cart/add", data=form, timeout=30)
    if added.status_code != 200 or not added.history:
        raise SystemExit(f"adding to the cart answered {added.status_code} at {added.url}")

    customer = requests.Session()
    login = hidden_fields(customer.get(base_url + "/auth/login", timeout=30).text, "/auth/login")
    logged_in = customer.post(base_url + "/auth/login", timeout=30,
                              data={**login, "email": CUSTOMER[0], "password": CUSTOMER[2]})
    if not logged_in.history or "/auth/login" in logged_in.url:
        raise SystemExit(f"logging in as {CUSTOMER[0]} failed: {logged_in.status_code} at {logged_in.url}")
    # Logging in starts a new session; the product page's form puts a CSRF secret in it.
    customer_form = add_to_cart_form(customer, base_url, product_path)
    return [Visitor("anonymous"), Visitor("with a cart", cookie_header(shopper), form),
            Visitor("logged in", cookie_header(customer), customer_form)]


def add_to_cart_form(browser: requests.Session, base_url: str, product_path: str) -> dict[str, str]:
    page = browser.get(base_url + product_path, timeout=30)
    page.raise_for_status()
    return {**hidden_fields(page.text, "/cart/add"), "quantity": "1"}


def cookie_header(browser: requests.Session) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)


def measure(server: Server, page: str, visitor: Visitor, path: str, duration: int, own: OwnProcesses) -> Run:
    """Warm the page with one request, then run wrk on it for `duration` seconds, noting what else used the CPUs."""
    posting = page == "add to cart"
    body = urllib.parse.urlencode(visitor.add_to_cart or {}) if posting else ""
    headers = {"Cookie": visitor.cookie} if visitor.cookie else {}
    if posting:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    warm = requests.request("POST" if posting else "GET", server.url + path, data=body, headers=headers,
                            allow_redirects=False, timeout=30)
    if warm.status_code != (302 if posting else 200):
        raise SystemExit(f"{page} ({visitor.name}) {path} answered {warm.status_code}:\n{server.log_tail()}")
    env = {**os.environ, "WRK_METHOD": "POST" if posting else "GET", "WRK_BODY": body, "WRK_COOKIE": visitor.cookie}
    command = ["wrk", "--threads", str(WRK_THREADS), "--connections", str(WRK_CONNECTIONS),
               "--duration", f"{duration}s", "--timeout", "10s", "--script", str(WRK_SCRIPT), server.url + path]
    machine_before, ours_before, started = machine_cpu_seconds(), own.cpu_seconds(), time.monotonic()
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    ours = own.cpu_seconds() - ours_before
    others = (machine_cpu_seconds() - machine_before - ours) / (time.monotonic() - started)
    result = json.loads(output.strip().splitlines()[-1])
    seconds = result["duration_us"] / 1e6
    run = Run(page=page, visitor=visitor.name, path=path, requests_per_second=result["requests"] / seconds,
              p50_ms=result["p50_us"] / 1000, p99_ms=result["p99_us"] / 1000,
              kilobytes=result["bytes"] / max(result["requests"], 1) / 1024, errors=result["errors"],
              other_cpus=max(others, 0.0))
    print(f"  {page:12} {visitor.name:12} {run.requests_per_second:8,.0f} req/s  p50 {run.p50_ms:5.1f} ms  "
          f"p99 {run.p99_ms:5.1f} ms  other work {run.other_cpus:.1f} CPUs"
          + (f"  {run.errors} errors" if run.errors else ""), flush=True)
    return run


def postgres_backends(database: str) -> list[int]:
    """Return the process ids of the Postgres backends connected to `database` on this machine."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            # A backend's title: "postgres: 15/main: user database 127.0.0.1(54321) idle".
            title = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            pids.append(int(cmdline.parent.name))
    return pids


def machine_cpu_seconds() -> float:
    """Return the CPU seconds every process on the machine has used so far."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def other_work_now(seconds: float = 2.0) -> float:
    """Return how many CPUs processes other than this one use, over a few seconds."""
    own = OwnProcesses([])
    machine_before, ours_before = machine_cpu_seconds(), own.cpu_seconds()
    time.sleep(seconds)
    return max((machine_cpu_seconds() - machine_before - (own.cpu_seconds() - ours_before)) / seconds, 0.0)


def process_cpu_seconds(pid: int, with_children: bool = False) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it has just ended
        return 0.0
    # Fields after the command name, which may hold spaces: utime, stime, cutime, cstime are the 12th to 15th.
    fields = [int(value) for value in stat.rsplit(")", 1)[1].split()[11:15]]
    return sum(fields if with_children else fields[:2]) / CLOCK_TICKS


def count_statements(settings: dict, runs: list[Run], visitors: list[Visitor]) -> None:
    """Fill in each run's SQL statements per request and X-Page-Cache, from the test client in this process."""
    app = create_app(dict(settings))
    client = app.test_client(use_cookies=False)  # each request sends the visitor's cookie as it is, as wrk does
    cookies = {visitor.name: visitor for visitor in visitors}
    statements = []

    def count(connection, cursor, statement, *_) -> None:
        # SQLite's BEGIN goes through a cursor here, Postgres's does not: left out, the counts compare.
        if not statement.startswith("BEGIN"):
            statements.append(1)

    # Every engine: the store settings have one of their own.
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        for run in runs:
            visitor = cookies[run.visitor]
            posting = run.page == "add to cart"
            request = {"method": "POST" if posting else "GET", "base_url": settings["BASE_URL"],
                       "headers": {"Cookie": visitor.cookie} if visitor.cookie else {},
                       "data": visitor.add_to_cart if posting else None}
            client.open(run.path, **request)  # warm
            statements.clear()
            cache = Counter()
            for _ in range(STATEMENT_SAMPLES):
                response = client.open(run.path, **request)
                if response.status_code != (302 if posting else 200):
                    raise SystemExit(f"in-process {run.page} ({run.visitor}) answered {response.status_code}")
                cache[response.headers.get("X-Page-Cache", "")] += 1
            run.statements = len(statements) / STATEMENT_SAMPLES
            run.page_cache = ", ".join(f"{value} {count}" if len(cache) > 1 else value
                                       for value, count in cache.most_common() if value)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def listing_count(page: str) -> str:
    """Return a listing page's count of products or results, as it shows it."""
    found = re.search(r'class="listing-count">([^<]*)<', page)
    return found.group(1).strip() if found else "?"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers were stopped and the folders removed on the way out
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
