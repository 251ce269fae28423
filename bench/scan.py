"""External web scanners (Wapiti, sqlmap) against a demo shop served as in production; exit 1 on a finding not accepted.

Usage: make scan   (or .venv/bin/python bench/scan.py [--port 5071] [--mail-port 5072] [--minutes 6] [--products 30])

Seeds a throwaway instance (a temporary folder, SQLite, a modest demo catalogue, a shopper and an
owner) and serves it with gunicorn.conf.py in production mode, set up as the README's deployment
section says (https base URL, Secure session cookie), over TLS on 127.0.0.1 with a certificate made
for the run, emails going to a local sink. Wapiti, pinned below and installed into its own
virtualenv (.venv-scan/, as its dependencies clash with the shop's), then scans twice: the
storefront logged in as the shopper, and the back office logged in as the owner. Its modules look
for cross-site scripting (reflected and stored), SQL, command and file injection, open redirects,
CRLF injection, forms without CSRF tokens, missing security headers, weak cookie flags and content
security policy, leftover backup files and unusual HTTP methods. Modules that need the internet
(SSRF, Log4Shell, XXE endpoints, technology fingerprints) are left out: the scan runs offline.
sqlmap (pinned too, in the same virtualenv) then tries every parameter of the listings' filters and
of the login and password reset forms for SQL injection. Debian's nikto is not in Debian's main
archive, so it is not used.

Each finding is printed with its module, method, URL, parameter and severity; the run fails when
one is not in bench/scan_accepted.json, the short list of false positives: entries
{"kind": Wapiti's category, "path": a regular expression for the path, "parameter": optional,
"reason": why it is no vulnerability}, each with its reason.
The form rate limits are raised for the scan (the test suite proves them), so the forms are
attacked rather than answered 429. Not part of the test suite: it takes several minutes.
"""
import argparse
import ipaddress
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from shop import ROOT, create_app  # noqa: E402
from shop.extensions import db  # noqa: E402
from shop.models import CartLine, ProductVariant, SavedItem, WishlistItem  # noqa: E402
from shop.services.accounts import create_admin, register_user  # noqa: E402
from shop.services.demo import seed_demo  # noqa: E402
from tests.factories import make_address, make_order  # noqa: E402
from tests.shopper_http import hidden_fields  # noqa: E402

HERE = Path(__file__).parent
WAPITI_VERSION = "3.2.3"  # the last release for Python 3.11
SQLMAP_VERSION = "1.10.10"
SCAN_VENV = Path(ROOT) / ".venv-scan"
WAPITI = SCAN_VENV / "bin" / "wapiti"
SQLMAP = SCAN_VENV / "bin" / "sqlmap"
ACCEPTED = HERE / "scan_accepted.json"
REPORTS = HERE / "results" / "scan"
SHOPPER = ("scan.shopper@example.com", "scanner shopper password")
OWNER = ("scan.owner@example.com", "scanner owner password")
# The attacks share the time; the checks read each page once and take little.
ATTACKS = ["xss", "permanentxss", "sql", "exec", "file", "redirect", "crlf"]
CHECKS = ["csrf", "http_headers", "cookieflags", "csp", "backup", "methods"]
MODULES = ATTACKS + CHECKS
# Attacked on their own first, each with the whole set of attacks, as the crawl's attacks go through the pages
# in alphabetical order and run out of time among the many filtered listings: the pages with the most
# parameters and forms.
FOCUSED = ["/search?q=tent&sort=newest&page=1&min_price=1&brand=fieldcraft&category=t-shirts",
           "/categories/clothing?sort=price_asc&on_sale=1&in_stock=1&opt.Size=M", "/products/{product}",
           "/cart", "/checkout", "/account", "/account/addresses/new", "/auth/reset"]
# Left alone: a logout ends the scanner's login, and deleting the account or changing its password ends every
# later request's. The scan's form posts cover the same code through the other forms of each page.
SPARED = ["/auth/logout", "/account/logout-everywhere", "/account/delete", "/account/password", "/admin/staff*"]
RAISED_LIMITS = {f"SHOP_{name}": "100000 per minute" for name in (
    "LOGIN_LIMIT_PER_IP", "LOGIN_LIMIT_PER_ACCOUNT", "PASSWORD_RESET_LIMIT", "REGISTER_LIMIT", "REVIEW_LIMIT",
    "CHECKOUT_LIMIT_PER_IP", "CHECKOUT_LIMIT_PER_EMAIL")}


@dataclass
class Finding:
    """One thing the scanner reported."""

    scan: str
    kind: str  # Wapiti's category: "Cross Site Scripting", "Internal Server Error", ...
    method: str
    path: str
    parameter: str
    severity: str
    info: str

    def line(self) -> str:
        parameter = f" [{self.parameter}]" if self.parameter else ""
        return f"{self.scan}: {self.kind} ({self.severity}) {self.method} {self.path}{parameter}: {self.info}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5071)
    parser.add_argument("--mail-port", type=int, default=5072, help="the local SMTP sink the shop's emails go to")
    parser.add_argument("--minutes", type=float, default=6, help="time budget of Wapiti's two crawling scans")
    parser.add_argument("--products", type=int, default=30, help="demo products to seed")
    args = parser.parse_args()
    versions = install_scanners()

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="shop-scan-"))
    product = seed(workdir, args.products)
    base_url = f"https://127.0.0.1:{args.port}"
    certificate = make_certificate(workdir)
    sink = Controller(DiscardMail(), hostname="127.0.0.1", port=args.mail_port)
    sink.start()
    server = serve(workdir, base_url, args.port, sink.port)
    findings: list[Finding] = []
    try:
        budget = args.minutes * 60
        cookie = log_in(base_url, certificate, *SHOPPER)
        for path in FOCUSED:
            page = path.format(product=product)
            findings += scan(f"page {page.split('?')[0]}", base_url, page, "page", ATTACKS, cookie, 60, 15, workdir)
        for name, root, account, share in (("storefront", "/", SHOPPER, 0.6), ("back office", "/admin/", OWNER, 0.4)):
            seconds = budget * share
            findings += scan(name, base_url, root, "folder", MODULES, log_in(base_url, certificate, *account),
                             seconds, seconds * 0.8 / len(ATTACKS), workdir)
        findings += sql_injection(base_url, workdir)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        sink.stop()

    accepted = json.loads(ACCEPTED.read_text(encoding="utf-8"))
    unexplained = [entry for entry in accepted if not str(entry.get("reason", "")).strip()]
    if unexplained:
        raise SystemExit(f"{ACCEPTED} accepts findings without a reason: {unexplained}")
    open_findings = [finding for finding in findings if not any(matches(finding, entry) for entry in accepted)]
    print(f"\nWapiti {versions['wapiti3']} (modules {', '.join(MODULES)}) and sqlmap {versions['sqlmap']}: "
          f"{len(findings)} findings ({len(findings) - len(open_findings)} accepted) "
          f"in {time.monotonic() - started:.0f} s")
    for finding in findings:
        print(("  accepted " if finding not in open_findings else "  OPEN     ") + finding.line())
    print(f"Reports: {REPORTS}/")
    return 1 if open_findings else 0


def install_scanners() -> dict[str, str]:
    """Install the pinned Wapiti and sqlmap into .venv-scan once; return their versions as pip has them."""
    pins = {"wapiti3": WAPITI_VERSION, "sqlmap": SQLMAP_VERSION}
    if installed_versions() != pins:
        if not SCAN_VENV.exists():
            subprocess.run([sys.executable, "-m", "venv", str(SCAN_VENV)], check=True)
        subprocess.run([str(SCAN_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        *(f"{name}=={version}" for name, version in pins.items())], check=True)
    return installed_versions()


def installed_versions() -> dict[str, str]:
    if not (SCAN_VENV / "bin" / "python").exists():
        return {}
    result = subprocess.run([str(SCAN_VENV / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True)
    return {package["name"]: package["version"] for package in json.loads(result.stdout)
            if package["name"] in ("wapiti3", "sqlmap")}


def seed(workdir: Path, products: int) -> str:
    """Create the instance's database with the demo catalogue, an owner, and a shopper who has used the shop.

    Return the slug of the product the shopper bought and may review.

    The shopper's cart, lists, address and delivered order put the checkout, review, list and address
    forms on the pages the scanner crawls.
    """
    os.environ["SHOP_INSTANCE_PATH"] = str(workdir)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/scan.db", "SECRET_KEY": "seeding"})
    with app.app_context():
        db.create_all()
        seed_demo(products)
        create_admin(OWNER[0], OWNER[1], name="Scan Owner")
        shopper = register_user(SHOPPER[0], "Scan Shopper", SHOPPER[1])
        variants = db.session.scalars(sa.select(ProductVariant).where(ProductVariant.stock > 5)
                                      .order_by(ProductVariant.id).limit(3)).all()
        make_address(shopper, is_default=True)
        make_order(shopper, variants[0], status="delivered", payment_status="paid")
        db.session.add_all([CartLine(user_id=shopper.id, variant_id=variants[1].id, quantity=1),
                            SavedItem(user_id=shopper.id, variant_id=variants[2].id, quantity=1),
                            WishlistItem(user_id=shopper.id, product_id=variants[2].product_id)])
        db.session.commit()
        slug = variants[0].product.slug
        db.session.remove()
        db.engine.dispose()
    return slug


def make_certificate(workdir: Path) -> Path:
    """Write a day's self-signed certificate for 127.0.0.1 and its key into the instance; return the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    (workdir / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (workdir / "certificate.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return workdir / "certificate.pem"


class DiscardMail:
    """An SMTP server that takes every email and keeps none: the shop's outbox sends as it would."""

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def serve(workdir: Path, base_url: str, port: int, mail_port: int) -> subprocess.Popen:
    """Start gunicorn with gunicorn.conf.py in production mode, over TLS, and wait until it answers."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SHOP_")}
    env.update({
        "SHOP_ENV": "production", "SHOP_INSTANCE_PATH": str(workdir),
        "SHOP_DATABASE_URL": f"sqlite:///{workdir}/scan.db", "SHOP_SECRET_KEY": secrets.token_hex(32),
        "SHOP_BASE_URL": base_url, "SHOP_SESSION_COOKIE_SECURE": "true",
        "SHOP_MAIL_SERVER": "127.0.0.1", "SHOP_MAIL_PORT": str(mail_port),
        "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4", **RAISED_LIMITS,
    })
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115  (gunicorn writes to it until stopped)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--certfile", str(workdir / "certificate.pem"), "--keyfile", str(workdir / "key.pem")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            answer = requests.get(base_url + "/healthz", timeout=5, verify=str(workdir / "certificate.pem"))
            if answer.status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"gunicorn did not answer on {base_url} within 30 s; see {workdir / 'gunicorn.log'}")


def log_in(base_url: str, certificate: Path, email: str, password: str) -> str:
    """Log in through the login form as a browser would; return the session cookie as Name=value."""
    browser = requests.Session()
    # Over https Flask-WTF wants the form posted from a page of this site, as a browser says it is.
    browser.headers["Referer"] = base_url + "/auth/login"
    # Given with each request: a session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment.
    form = hidden_fields(browser.get(base_url + "/auth/login", timeout=10, verify=str(certificate)).text, "/auth/login")
    response = browser.post(base_url + "/auth/login", data={**form, "email": email, "password": password},
                            allow_redirects=False, timeout=10, verify=str(certificate))
    if response.status_code != 302:
        raise SystemExit(f"could not log in as {email}: {response.status_code}")
    # Logging in starts a new session without a CSRF secret; the first form shown puts one in it. The
    # scanner sends this one cookie throughout, so it must already hold the secret every page's token uses.
    browser.get(base_url + "/account", timeout=10, verify=str(certificate))
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)


def scan(name: str, base_url: str, root: str, scope: str, modules: list[str], cookie: str, seconds: float,
         attack_seconds: float, workdir: Path) -> list[Finding]:
    """Crawl and attack from `root` within Wapiti's `scope` with the login cookie for at most `seconds`."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.json"
    command = [
        str(WAPITI), "--url", base_url + root, "--scope", scope, "--module", ",".join(modules),
        "--cookie-value", cookie, "--format", "json", "--output", str(report), "--no-bugreport", "--verbose", "0",
        "--flush-session", "--store-session", str(workdir / "wapiti"), "--store-config", str(workdir / "wapiti"),
        "--max-scan-time", str(int(seconds)), "--max-attack-time", str(int(attack_seconds)),
        "--depth", "4", "--max-links-per-page", "40", "--max-files-per-dir", "25", "--max-parameters", "20",
        "--timeout", "20", "--tasks", "4",
    ]
    for path in SPARED:
        command += ["--exclude", base_url + path]
    print(f"== Wapiti: {name}, at most {seconds / 60:.1f} minutes ==", flush=True)
    subprocess.run(command, check=True)
    return read_report(name, json.loads(report.read_text(encoding="utf-8")))


# Where sqlmap tries every parameter (the demo catalogue's slugs): the listings' filters, and two forms whose CSRF
# token it fetches before each post.
SQLMAP_TARGETS = [
    ("/search?q=tee&sort=newest&page=1&min_price=1&max_price=50&brand=fieldcraft&category=t-shirts&rating=4", None),
    ("/categories/clothing?sort=price_asc&page=1&on_sale=1&opt.Size=M", None),
    ("/auth/login", "csrf_token=x&email=someone%40example.com&password=secret+words+here"),
    ("/auth/reset", "csrf_token=x&email=someone%40example.com"),
]
INJECTION_POINT = re.compile(r"^Parameter: (?P<parameter>.+) \((?P<place>[A-Z]+)\)\n(?P<details>(?:    .*\n?)+)",
                             re.MULTILINE)


def sql_injection(base_url: str, workdir: Path) -> list[Finding]:
    """Run sqlmap's boolean, error and union tests on each target; return the injections it proves.

    Time-based and stacked tests are left out: they wait on every payload, and the shop's statements
    are all parameterised, so a delay could come only from the same flaw the other tests catch.
    """
    print("== sqlmap: the listings' filters and the login and password reset forms ==", flush=True)
    findings = []
    for path, form in SQLMAP_TARGETS:
        started = time.monotonic()
        command = [str(SQLMAP), "--url", base_url + path, "--batch", "--level", "1", "--risk", "1",
                   "--technique", "BEU", "--output-dir", str(workdir / "sqlmap"), "--flush-session",
                   "--disable-coloring", "--headers", f"Referer: {base_url}{path.split('?')[0]}"]
        if form:
            command += ["--data", form, "--csrf-token", "csrf_token", "--csrf-url", base_url + path]
        else:
            command += ["--threads", "4"]
        output = subprocess.run(command, capture_output=True, text=True).stdout
        (REPORTS / f"sqlmap{path.split('?')[0].replace('/', '-')}.txt").write_text(output, encoding="utf-8")
        for point in INJECTION_POINT.finditer(output):
            findings.append(Finding(
                scan="sqlmap", kind="SQL Injection", method="POST" if point["place"] == "POST" else "GET",
                path=path.split("?")[0], parameter=point["parameter"], severity="critical",
                info=" ".join(point["details"].split())[:300]))
        tested = len(re.findall(r"testing for SQL injection on", output))
        print(f"  {path.split('?')[0]}: {tested} parameters tested, {time.monotonic() - started:.0f} s", flush=True)
    return findings


def read_report(name: str, report: dict) -> list[Finding]:
    """Return the report's vulnerabilities and anomalies (server errors, timeouts) as findings."""
    findings = []
    for section in ("vulnerabilities", "anomalies"):
        for kind, entries in report.get(section, {}).items():
            for entry in entries:
                findings.append(Finding(
                    scan=name, kind=kind, method=entry.get("method", ""), path=entry.get("path", ""),
                    parameter=entry.get("parameter", ""), severity=SEVERITY.get(entry.get("level"), "?"),
                    info=" ".join(str(entry.get("info", "")).split())[:300]))
    return findings


SEVERITY = {1: "low", 2: "medium", 3: "high", 4: "critical"}


def matches(finding: Finding, entry: dict) -> bool:
    """Return whether an accepted entry (kind, path pattern, optional parameter) covers the finding."""
    return (finding.kind == entry["kind"] and re.fullmatch(entry["path"], finding.path) is not None
            and entry.get("parameter", finding.parameter) == finding.parameter)


if __name__ == "__main__":
    sys.exit(main())
