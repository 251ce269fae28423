"""Lighthouse (mobile) scores of the home, a category and a product page of a seeded demo shop.

Usage: make audit   (or .venv/bin/python bench/lighthouse_audit.py [--products 200] [--port 5065])
Seeds a demo catalogue in a throwaway instance, serves it with gunicorn as a deployment would
(production settings, `make run`'s worker and threads), runs the Lighthouse pinned in
bench/lighthouse (`npm ci` there; make audit does it) with Chromium at $CHROME_PATH
(default /usr/bin/chromium), and prints the four category scores per page as a Markdown table,
then what lost points wherever a score is under the 95 target. The full reports are saved as
JSON in bench/results/lighthouse/. Not part of the test suite: scores move with the machine's load.
"""
import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from fresh_database import fresh_app  # noqa: E402  (beside this script)

from shop import ROOT  # noqa: E402
from shop.extensions import db  # noqa: E402
from shop.models import Category, Product  # noqa: E402
from shop.services.demo import seed_demo  # noqa: E402

HERE = Path(__file__).parent
LIGHTHOUSE = HERE / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
REPORTS = HERE / "results" / "lighthouse"
CATEGORIES = {"performance": "Performance", "accessibility": "Accessibility",
              "best-practices": "Best practices", "seo": "SEO"}
TARGET = 95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=200, help="demo products to seed (make run seeds 200)")
    parser.add_argument("--port", type=int, default=5065)
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print(f"{LIGHTHOUSE} is missing: run `make audit`, or `npm ci` in bench/lighthouse", file=sys.stderr)
        return 2

    app = fresh_app(None)
    with app.app_context():
        seed_demo(args.products)
        pages = demo_pages()
    base_url = f"http://127.0.0.1:{args.port}"
    server = serve(app, base_url, args.port)
    try:
        REPORTS.mkdir(parents=True, exist_ok=True)
        reports = {name: audit(base_url + path, REPORTS / f"{name}.json") for name, path in pages.items()}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)

    print(f"\nLighthouse {reports['home']['lighthouseVersion']}, mobile, {args.products} demo products\n")
    print("| Page | " + " | ".join(CATEGORIES.values()) + " |")
    print("|---" * (len(CATEGORIES) + 1) + "|")
    for name, report in reports.items():
        scores = [score(report, category) for category in CATEGORIES]
        print(f"| {name} (`{pages[name]}`) | " + " | ".join(str(value) for value in scores) + " |")
    missed = False
    for name, report in reports.items():
        for category, label in CATEGORIES.items():
            if score(report, category) < TARGET:
                missed = True
                print(f"\n{name}, {label} {score(report, category)}: what lost points")
                for line in lost_points(report, category):
                    print(f"  - {line}")
    print(f"\nReports: {REPORTS}/")
    return 1 if missed else 0


def demo_pages() -> dict[str, str]:
    """Return the audited pages' paths: the home page, the first top category, its first product with photos."""
    category = db.session.scalar(sa.select(Category).where(Category.parent_id.is_(None)).order_by(Category.position))
    product = db.session.scalar(sa.select(Product).where(Product.slug.like("demo-%")).order_by(Product.slug))
    return {"home": "/", "category": f"/categories/{category.slug}", "product": f"/products/{product.slug}"}


def serve(app, base_url: str, port: int) -> subprocess.Popen:
    """Start gunicorn on the seeded instance and wait until it answers."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SHOP_")}
    env.update({
        "SHOP_ENV": "production", "SHOP_INSTANCE_PATH": app.instance_path,
        "SHOP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SHOP_MEDIA_PATH": app.config["MEDIA_PATH"],
        "SHOP_SECRET_KEY": secrets.token_hex(32), "SHOP_BASE_URL": base_url,
        # Production mode over plain http on 127.0.0.1, which only this test-only flag allows.
        "SHOP_TESTING_SERVER": "1",
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8",
         "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"gunicorn did not answer on {base_url} within 30 s")


def audit(url: str, report_path: Path) -> dict:
    """Run Lighthouse's mobile audit of `url`, keep its JSON report, and return it."""
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(
        [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report_path}",
         "--only-categories=" + ",".join(CATEGORIES), "--chrome-flags=--headless --no-sandbox"],
        env=env, check=True)
    return json.loads(report_path.read_text(encoding="utf-8"))


def score(report: dict, category: str) -> int:
    return round((report["categories"][category]["score"] or 0) * 100)


def lost_points(report: dict, category: str) -> list[str]:
    """Return the audits that cost the category points, heaviest first, with what Lighthouse measured."""
    audits = report["audits"]
    lines = []
    for ref in sorted(report["categories"][category]["auditRefs"], key=lambda ref: -ref["weight"]):
        result = audits[ref["id"]]
        if result["score"] is None or result["score"] >= 1 or result["scoreDisplayMode"] in ("manual", "notApplicable"):
            continue
        shown = f": {result['displayValue']}" if result.get("displayValue") else ""
        lines.append(f"{result['title']} (score {result['score']:.2f}, weight {ref['weight']}){shown}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
