"""The footer on every page, and the information pages shoppers read: /pages/<slug> and the older addresses."""
import html
import re

import pytest

from shop.extensions import db
from shop.models import ContentPage, ShippingMethod
from shop.services import store_settings

STARTING_FOOTER = {
    "/pages/about": "About us", "/pages/shipping-returns": "Shipping &amp; returns", "/pages/privacy": "Privacy",
    "/pages/terms": "Terms of sale", "/pages/contact": "Contact us",
}


def footer(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index('<footer class="site-footer">'):]


def main(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index('<main'):page.index("<footer")]


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def footer_links(response) -> list[tuple[str, str]]:
    nav = footer(response)
    nav = nav[nav.index('<nav class="footer-links"'):nav.index("</nav>")]
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)


@pytest.mark.parametrize("path", ["/", "/cart", "/auth/login", "/pages/privacy", "/no-such-page"])
def test_every_page_has_the_footer_with_the_starting_pages_and_the_currency(client, path):
    assert footer_links(client.get(path)) == list(STARTING_FOOTER.items())
    assert "Prices in USD, excluding tax" in text(footer(client.get(path)))


@pytest.mark.parametrize(("path", "heading"), [
    ("/pages/about", "About us"), ("/pages/shipping-returns", "Shipping &amp; returns"), ("/pages/privacy", "Privacy"),
    ("/pages/terms", "Terms of sale"), ("/pages/contact", "Contact us"),
])
def test_each_starting_page_answers_with_its_heading_and_sections(client, path, heading):
    response = client.get(path)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in main(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")
    if path != "/pages/contact":
        assert re.search(r"<h2>[^<]+</h2>", main(response)), "Markdown headings become the page's sections"


@pytest.mark.parametrize(("old", "slug"), [
    ("/shipping-returns", "shipping-returns"), ("/privacy", "privacy"), ("/terms", "terms"), ("/contact", "contact"),
])
def test_the_old_addresses_lead_to_their_pages_for_good(client, old, slug):
    response = client.get(old)
    assert response.status_code == 301 and response.headers["Location"] == f"/pages/{slug}"


def test_the_footer_lists_the_published_footer_pages_in_their_order(client):
    db.session.add_all([
        ContentPage(slug="terms", title="Terms", body="Ours.", is_published=False, position=3),
        ContentPage(slug="privacy", title="Your privacy", body="Ours.", is_published=True, position=9),
        ContentPage(slug="gift-cards", title="Gift cards", body="Soon.", is_published=True, position=2),
        ContentPage(slug="imprint", title="Imprint", body="Ours.", is_published=True, show_in_footer=False),
        ContentPage(slug="draft", title="Draft", body="Not yet.", is_published=False),
    ])
    db.session.commit()
    store_settings.forget()  # the test wrote the rows itself, not through the admin
    assert footer_links(client.get("/")) == [
        ("/pages/about", "About us"), ("/pages/shipping-returns", "Shipping &amp; returns"),
        ("/pages/gift-cards", "Gift cards"), ("/pages/contact", "Contact us"), ("/pages/privacy", "Your privacy"),
    ]
    assert client.get("/pages/imprint").status_code == 200, "a page left out of the footer is still published"
    assert client.get("/pages/draft").status_code == 404
    assert client.get("/pages/terms").status_code == 404, "an unpublished starting page is gone for shoppers"
    assert client.get("/terms").headers["Location"] == "/pages/terms"
    assert client.get("/pages/no-such-page").status_code == 404


def test_the_owners_markdown_is_rendered_safely(client):
    db.session.add(ContentPage(slug="about", title="About", is_published=True, body=(
        "# Not a second h1\n\n## Who we are\n\nWe **sew** bags. [Write](mailto:a@example.com)\n\n"
        "<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )))
    db.session.commit()
    page = main(client.get("/pages/about"))
    assert page.count("<h1>") == 1 and "<h2>Who we are</h2>" in page and "<strong>sew</strong>" in page
    assert '<a href="mailto:a@example.com" rel="nofollow noopener">Write</a>' in page
    assert "<script" not in page and "<img" not in page and "javascript:" not in page
    assert "&lt;script&gt;" in page, "typed HTML is shown as text"


def test_shipping_page_lists_the_active_shipping_methods_with_their_prices(client):
    db.session.add_all([
        ShippingMethod(name="Standard", price_cents=599, free_over_cents=5000, position=0),
        ShippingMethod(name="Express", price_cents=1499, position=1),
        ShippingMethod(name="Pigeon", price_cents=100, position=2, is_active=False),
    ])
    db.session.commit()
    page = client.get("/pages/shipping-returns").get_data(as_text=True)
    assert "<li><strong>Standard</strong>: $5.99, free on orders of $50.00 or more</li>" in page
    assert "<li><strong>Express</strong>: $14.99</li>" in page
    assert "Pigeon" not in page
    assert "[shipping methods]" not in page


def test_without_shipping_methods_the_page_says_they_are_shown_at_checkout(client):
    assert "shown at checkout, before you pay" in text(main(client.get("/pages/shipping-returns")))


def test_the_placeholders_work_on_any_page_the_owner_writes(client):
    db.session.add(ContentPage(slug="help", title="Help", is_published=True,
                               body="Ask us:\n\n[contact details]\n\nInline [contact details] stays text."))
    db.session.add(ShippingMethod(name="Courier", price_cents=900, position=0))
    db.session.commit()
    page = main(client.get("/pages/help"))
    assert "Reply to any email we sent you" in page
    assert "Inline [contact details] stays text." in page


def test_without_a_contact_email_or_address_the_footer_and_contact_page_leave_them_out(client):
    page_footer = footer(client.get("/"))
    assert "mailto:" not in page_footer and "<address>" not in page_footer
    assert "Stripe" not in page_footer
    contact = main(client.get("/pages/contact"))
    assert "mailto:" not in contact and "Reply to any email we sent you about your order" in text(contact)


@pytest.mark.parametrize("app_overrides", [{
    "SHOP_NAME": "Trail & Tide", "CONTACT_EMAIL": "help@trail.example",
    "ADDRESS": "Trail & Tide Ltd, 12 Harbour Street, Portland OR 97201",
}])
def test_the_footer_and_contact_page_show_the_shops_name_email_and_address(client):
    page_footer = footer(client.get("/"))
    assert "<h2>Trail &amp; Tide</h2>" in page_footer
    assert '<a href="mailto:help@trail.example" data-testid="footer-email">help@trail.example</a>' in page_footer
    assert "<address>Trail &amp; Tide Ltd<br>12 Harbour Street<br>Portland OR 97201</address>" in page_footer
    contact = main(client.get("/pages/contact"))
    assert 'data-testid="contact-email">help@trail.example</a>' in contact
    assert "12 Harbour Street" in contact


@pytest.mark.parametrize("app_overrides", [{"STRIPE_SECRET_KEY": "sk_test_footer"}])
def test_with_stripe_keys_the_footer_says_cards_are_paid_through_stripe(client):
    assert "Secure card payments by Stripe." in text(footer(client.get("/")))


@pytest.mark.parametrize("app_overrides", [{"PRICES_INCLUDE_TAX": True}])
def test_with_prices_including_tax_the_footer_says_so(client):
    assert "Prices in USD, including any tax for your country." in text(footer(client.get("/")))


def test_every_page_runs_the_same_statements_with_many_footer_pages(client, count_queries):
    client.get("/")
    with count_queries() as few:
        client.get("/")
    db.session.add_all([ContentPage(slug=f"page-{number}", title=f"Page {number}", body="Words.", is_published=True)
                        for number in range(12)])
    db.session.commit()
    store_settings.forget()
    client.get("/")  # this process reads the settings and the footer again, once
    with count_queries() as many:
        page = client.get("/")
    assert len(footer_links(page)) == 17
    assert len(few) == len(many)
