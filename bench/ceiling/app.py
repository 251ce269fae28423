"""The bare-Flask ceiling: a Jinja page like a catalogue listing, from memory, with no database.

make bench serves it with the same gunicorn worker settings as the shop; the shop's req/s are
reported as a share of this app's, measured in the same run. Serve it by hand with
.venv/bin/gunicorn --chdir bench/ceiling --workers 2 --worker-class sync --threads 1 app:app
"""
from flask import Flask, render_template

app = Flask(__name__)

ADJECTIVES = ["Classic", "Alpine", "Coastal", "Urban", "Heritage", "Rugged", "Merino", "Linen"]
NOUNS = ["Tee", "Sweater", "Rain Jacket", "Runner", "Chelsea Boot", "Mug", "Tent", "Backpack"]
# 24 cards, as many as a shop listing page shows.
PRODUCTS = [
    {"slug": f"demo-{number:05d}", "name": f"{ADJECTIVES[number % 8]} {NOUNS[number // 3 % 8]}",
     "price_cents": 1900 + 250 * number, "in_stock": number % 5 != 0}
    for number in range(1, 25)
]


@app.template_filter("money")
def money(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


@app.get("/")
def listing():
    """Render the listing of the in-memory products."""
    return render_template("listing.html", title="Clothing", products=PRODUCTS)
