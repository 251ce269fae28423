"""The footer on every page, and its information pages: shipping and returns, privacy, terms, contact."""
import html
import re
from pathlib import Path

import pytest

from shop.extensions import db
from shop.models import ShippingMethod

FOOTER_PAGES = {
    "/shipping-returns": "Shipping &amp; returns", "/privacy": "Privacy", "/terms": "Terms", "/contact": "Contact",
}


def footer(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index('<footer class="site-footer">'):]


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.mark.parametrize("path", ["/", "/cart", "/auth/login", "/privacy", "/no-such-page"])
def test_every_page_has_the_footer_with_its_links_and_the_currency(client, path):
    page_footer = footer(client.get(path))
    for url, label in FOOTER_PAGES.items():
        assert f'<a href="{url}">{label}</a>' in page_footer
    assert "Prices in USD, excluding tax" in text(page_footer)


@pytest.mark.parametrize("path", FOOTER_PAGES)
def test_each_footer_page_answers_with_its_heading(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert re.search(r"<h1>[^<]+</h1>", response.get_data(as_text=True))
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_without_a_contact_email_or_address_the_footer_leaves_them_out(client):
    page_footer = footer(client.get("/"))
    assert "mailto:" not in page_footer and "<address>" not in page_footer
    assert "Stripe" not in page_footer
    contact = client.get("/contact").get_data(as_text=True)
    assert "mailto:" not in contact.split('<footer')[0]


@pytest.mark.parametrize("app_overrides", [{
    "SHOP_NAME": "Trail & Tide", "CONTACT_EMAIL": "help@trail.example",
    "ADDRESS": "Trail & Tide Ltd, 12 Harbour Street, Portland OR 97201",
}])
def test_the_footer_and_contact_page_show_the_shops_name_email_and_address(client):
    page_footer = footer(client.get("/"))
    assert "<h2>Trail &amp; Tide</h2>" in page_footer
    assert '<a href="mailto:help@trail.example" data-testid="footer-email">help@trail.example</a>' in page_footer
    assert "<address>Trail &amp; Tide Ltd<br>12 Harbour Street<br>Portland OR 97201</address>" in page_footer
    contact = client.get("/contact").get_data(as_text=True)
    assert 'data-testid="contact-email">help@trail.example</a>' in contact
    assert "12 Harbour Street" in contact.split("<footer")[0]


@pytest.mark.parametrize("app_overrides", [{"STRIPE_SECRET_KEY": "sk_test_footer"}])
def test_with_stripe_keys_the_footer_says_cards_are_paid_through_stripe(client):
    assert "Secure card payments by Stripe." in text(footer(client.get("/")))
    assert "Card payments are handled by Stripe" in text(client.get("/privacy").get_data(as_text=True))


def test_shipping_page_lists_the_active_shipping_methods_with_their_prices(client):
    db.session.add_all([
        ShippingMethod(name="Standard", price_cents=599, free_over_cents=5000, position=0),
        ShippingMethod(name="Express", price_cents=1499, position=1),
        ShippingMethod(name="Pigeon", price_cents=100, position=2, is_active=False),
    ])
    db.session.commit()
    page = client.get("/shipping-returns").get_data(as_text=True)
    assert "<li><strong>Standard</strong>: $5.99, free on orders of $50.00 or more</li>" in page
    assert "<li><strong>Express</strong>: $14.99</li>" in page
    assert "Pigeon" not in page


def test_a_template_in_the_instance_folder_replaces_the_default_page(app, client):
    own = Path(app.instance_path) / "templates" / "pages" / "privacy.html"
    own.parent.mkdir(parents=True)
    own.write_text('{% extends "base.html" %}{% block title %}Privacy{% endblock %}'
                   "{% block content %}<h1>Our own privacy words</h1>{% endblock %}")
    privacy = client.get("/privacy").get_data(as_text=True)
    assert "<h1>Our own privacy words</h1>" in privacy and "What we keep" not in privacy
    assert '<a href="/terms">Terms</a>' in privacy, "the owner's page keeps the shop's layout"
    assert "<h1>Terms of sale</h1>" in client.get("/terms").get_data(as_text=True)
