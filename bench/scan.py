"""An external web scanner (Wapiti) against a demo shop served as in production; exit 1 on any finding not accepted.

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
SCAN_VENV = Path(ROOT) / ".venv-scan"
WAPITI = SCAN_VENV / "bin" / "wapiti"
ACCEPTED = HERE / "scan_accepted.json"
REPORTS = HERE / "results" / "scan"
SHOPPER = ("scan.shopper@example.com", "scanner shopper password")
OWNER = ("scan.owner@example.com", "scanner owner password")
MODULES = ["xss", "permanentxss", "sql", "exec", "file", "redirect", "crlf", "csrf", "http_headers", "cookieflags",
           "csp", "backup", "methods"]
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
    parser.add_argument("--minutes", type=float, default=6, help="time budget of both scans together")
    parser.add_argument("--products", type=int, default=30, help="demo products to seed")
    args = parser.parse_args()
    version = install_wapiti()

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="shop-scan-"))
    seed(workdir, args.products)
    base_url = f"https://127.0.0.1:{args.port}"
    certificate = make_certificate(workdir)
    sink = Controller(DiscardMail(), hostname="127.0.0.1", port=args.mail_port)
    sink.start()
    server = serve(workdir, base_url, args.port, sink.port)
    findings: list[Finding] = []
    try:
        budget = args.minutes * 60
        for name, start, account, share in (("storefront", "/", SHOPPER, 0.6), ("back office", "/admin/", OWNER, 0.4)):
            cookie = log_in(base_url, certificate, *account)
            findings += scan(name, base_url, start, cookie, budget * share, workdir)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        sink.stop()

    accepted = json.loads(ACCEPTED.read_text(encoding="utf-8"))
    unexplained = [entry for entry in accepted if not str(entry.get("reason", "")).strip()]
    if unexplained:
        raise SystemExit(f"{ACCEPTED} accepts findings without a reason: {unexplained}")
    open_findings = [finding for finding in findings if not any(matches(finding, entry) for entry in accepted)]
    print(f"\nWapiti {version}, modules {', '.join(MODULES)}; {len(findings)} findings "
          f"({len(findings) - len(open_findings)} accepted) in {time.monotonic() - started:.0f} s")
    for finding in findings:
        print(("  accepted " if finding not in open_findings else "  OPEN     ") + finding.line())
    print(f"Reports: {REPORTS}/")
    return 1 if open_findings else 0


def install_wapiti() -> str:
    """Install the pinned Wapiti into .venv-scan once; return its version."""
    if not WAPITI.exists() or version_of_wapiti() != WAPITI_VERSION:
        if not SCAN_VENV.exists():
            subprocess.run([sys.executable, "-m", "venv", str(SCAN_VENV)], check=True)
        subprocess.run([str(SCAN_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        f"wapiti3=={WAPITI_VERSION}"], check=True)
    return version_of_wapiti()


def version_of_wapiti() -> str:
    result = subprocess.run([str(WAPITI), "--version"], capture_output=True, text=True)
    found = re.findall(r"^\d+\.\d+\.\d+$", result.stdout, re.MULTILINE)
    return found[-1] if found else "unknown"


def seed(workdir: Path, products: int) -> None:
    """Create the instance's database with the demo catalogue, an owner, and a shopper who has used the shop.

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
        db.session.remove()
        db.engine.dispose()


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


def scan(name: str, base_url: str, start: str, cookie: str, seconds: float, workdir: Path) -> list[Finding]:
    """Crawl and attack from `start` with the login cookie for at most `seconds`; return the findings."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"{name.replace(' ', '-')}.json"
    modules = len(MODULES)
    command = [
        str(WAPITI), "--url", base_url + start, "--scope", "folder", "--module", ",".join(MODULES),
        "--cookie-value", cookie, "--format", "json", "--output", str(report), "--no-bugreport", "--verbose", "0",
        "--flush-session", "--store-session", str(workdir / "wapiti"), "--store-config", str(workdir / "wapiti"),
        "--max-scan-time", str(int(seconds)), "--max-attack-time", str(max(10, int(seconds * 0.6 / modules))),
        "--depth", "4", "--max-links-per-page", "40", "--max-files-per-dir", "25", "--max-parameters", "20",
        "--timeout", "20", "--tasks", "4",
    ]
    for path in SPARED:
        command += ["--exclude", base_url + path]
    print(f"== Wapiti: {name} from {start}, at most {seconds / 60:.1f} minutes ==", flush=True)
    subprocess.run(command, check=True)
    return read_report(name, json.loads(report.read_text(encoding="utf-8")))


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
