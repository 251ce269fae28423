"""Information pages the owner writes in Markdown: About, Shipping & returns, Privacy, Terms, Contact, and more.

The shop starts with five pages (STARTING_PAGES, seeded by the store-management migration). Like a
setting without a row, a starting page whose row is missing shows its starting text, so deleting one
brings that text back; unpublishing is how a page leaves the shop.

Two parts of a page come from the shop's data rather than its text: a paragraph holding only
[shipping methods] becomes the list of shipping methods with their prices, and one holding only
[contact details] the contact email and postal address, as they are when the page is read.
"""
from dataclasses import dataclass
from datetime import datetime

import markdown
import nh3
import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shop import text
from shop.database import write_transaction
from shop.extensions import db
from shop.models import ContentPage, User, lengths
from shop.services import NotFound, audit, rich_text, store_settings
from shop.services.catalog import Page, contains_pattern
from shop.services.checkout import active_shipping_methods
from shop.services.order_documents import letterhead
from shop.services.slugs import is_valid_slug, slugify
from shop.services.store_settings import FooterLink
from shop.services.taxonomy import FieldRefusal

# A page may also have section headings (h2 to h4): its title is the page's only h1.
PAGE_TAGS = rich_text.ALLOWED_TAGS | {"h2", "h3", "h4"}
PLACEHOLDERS = {"shipping methods": "pages/_shipping_methods.html", "contact details": "pages/_contact_details.html"}
ADMIN_STATUSES = {"": "All pages", "published": "Published", "draft": "Not published"}
FIELD_LABELS = {"title": "title", "slug": "slug", "body": "text", "is_published": "published",
                "show_in_footer": "footer link", "position": "position"}


@dataclass(frozen=True)
class StartingPage:
    slug: str
    title: str
    body: str
    position: int


ABOUT = """\
We choose every product we sell with care, pack each order ourselves and read every email we get.

## How we work

- You see the full price, with shipping and any tax, before you pay.
- We hold what you ordered while you pay, so it is yours once payment succeeds.
- Until your order ships you can cancel it yourself from its order page.

Questions? See [how to reach us](/pages/contact).
"""

SHIPPING_RETURNS = """\
## Shipping

[shipping methods]

We send you an email when your order ships, with the carrier's tracking number when there is one. You can also
follow your order from the link in your confirmation email, or from [your orders](/account/orders) if you have an
account.

## Changing your mind before it ships

Until your order has shipped you can cancel it yourself from its order page; a paid order is refunded in full.

## Returns

If something is not right, [contact us](/pages/contact) with your order number and we will tell you how to send it
back. Refunds go back to the card you paid with and can take 5–10 business days to appear on your statement.
"""

PRIVACY = """\
We keep only what we need to sell to you and deliver your orders.

## What we keep

- **Your account**, if you make one: your name, email address and a one-way hash of your password (we never store
  the password itself), your saved addresses, wishlist and saved items.
- **Your orders**: what you bought, the shipping address and email you gave, and the payment status.
- **Your cart** while you shop.

## Payments

Card payments are handled by our payment provider on its own secure pages. Your card number never reaches our
servers; we receive only whether the payment succeeded.

## Cookies

We set one cookie, which keeps your cart and your login while you browse. It is needed for the shop to work. We use
no advertising or tracking cookies.

## Emails

We email you about your orders (confirmation, shipping, refunds) and about changes to your account. If you ask for
it at checkout, we send one reminder about an order you did not finish; every reminder has a link to stop them. We
send no marketing email.

## Removing your data

You can download your data, or delete your account, at any time from your account page. Deleting it removes your
account, addresses and saved lists. Orders stay in our books, as accounting law requires, with your name, email,
street address and phone removed.

## Questions

See our [contact page](/pages/contact).
"""

TERMS = """\
These terms apply to every order placed with us.

## Prices

Prices are in the currency shown next to them. The shipping you choose, and any tax due for the place you ship to,
are shown at checkout: you see the full total before you pay.

## Your order

Your order is accepted once payment succeeds; we then send a confirmation email. We hold the items for you while you
pay. If an item turns out to be unavailable we will tell you and refund what you paid for it.

## Cancelling and returns

You can cancel an order until it ships. How to return an item is described on the
[shipping & returns](/pages/shipping-returns) page.

## Your data

How we use your details is described in our [privacy notice](/pages/privacy).
"""

CONTACT = """\
[contact details]

## Your order

The link in your confirmation email shows where your order is; if you have an account, all your orders are under
[your orders](/account/orders).
"""

STARTING_PAGES = (
    StartingPage("about", "About us", ABOUT, 0),
    StartingPage("shipping-returns", "Shipping & returns", SHIPPING_RETURNS, 1),
    StartingPage("privacy", "Privacy", PRIVACY, 2),
    StartingPage("terms", "Terms of sale", TERMS, 3),
    StartingPage("contact", "Contact us", CONTACT, 4),
)
STARTING_BY_SLUG = {page.slug: page for page in STARTING_PAGES}


@dataclass
class PageFields:
    title: str
    slug: str
    body: str
    is_published: bool
    show_in_footer: bool
    position: int


@dataclass(frozen=True)
class PublicPage:
    slug: str
    title: str
    body: str
    updated_at: datetime | None

    @property
    def description(self) -> str:
        """Return the summary search engines show: the text's first sentence, headings and placeholders left out."""
        words = "\n".join(line for line in self.body.splitlines()
                          if line.strip()[1:-1] not in PLACEHOLDERS and not line.lstrip().startswith("#"))
        return rich_text.first_sentence(words) or self.title


@dataclass
class Saved:
    id: int
    title: str
    slug: str
    changed: list[str]


def render_body(body: str) -> Markup:
    """Return a page's Markdown as sanitised HTML with section headings, its placeholders filled in."""
    converter = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    # Raw HTML typed into a page is shown as text, never passed through.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    cleaned = nh3.clean(converter.convert(body), tags=PAGE_TAGS, attributes=rich_text.ALLOWED_ATTRIBUTES,
                        url_schemes=rich_text.LINK_SCHEMES, link_rel=rich_text.LINK_REL, strip_comments=True)
    for name, template in PLACEHOLDERS.items():
        marker = f"<p>[{name}]</p>"
        if marker in cleaned:
            # Rendered without the page's context processors, which would read the header's data again.
            cleaned = cleaned.replace(marker, current_app.jinja_env.get_template(template).render(_placeholder(name)))
    return Markup(cleaned)  # noqa: S704  (nh3 has sanitised the owner's text; the placeholders are our templates)


def _placeholder(name: str) -> dict:
    if name == "shipping methods":
        return {"shipping_methods": active_shipping_methods()}
    return {"shop_contact_email": store_settings.get("contact_email"), "shop_address_lines": letterhead().address_lines}


def published_page(slug: str) -> PublicPage | None:
    """Return the page shoppers see at /pages/<slug>, or None when there is none or it is not published."""
    page = db.session.scalar(sa.select(ContentPage).where(ContentPage.slug == slug))
    if page is not None:
        return PublicPage(page.slug, page.title, page.body, page.updated_at) if page.is_published else None
    starting = STARTING_BY_SLUG.get(slug)
    return PublicPage(starting.slug, starting.title, starting.body, None) if starting else None


def read_footer_links(connection: Connection) -> list[FooterLink]:
    """Return the published footer pages in order, starting pages without a row among them, in one query."""
    rows = connection.execute(
        sa.select(ContentPage.slug, ContentPage.title, ContentPage.position, ContentPage.is_published,
                  ContentPage.show_in_footer)
        .where(sa.or_(sa.and_(ContentPage.is_published.is_(True), ContentPage.show_in_footer.is_(True)),
                      ContentPage.slug.in_(STARTING_BY_SLUG)))
    ).all()
    saved = {row.slug for row in rows}
    listed = [(row.position, row.title, row.slug) for row in rows if row.is_published and row.show_in_footer]
    listed += [(page.position, page.title, page.slug) for page in STARTING_PAGES if page.slug not in saved]
    return [FooterLink(slug, title) for _, title, slug in sorted(listed, key=lambda item: (item[0], item[1].lower()))]


def starting_footer_links() -> list[FooterLink]:
    """Return the footer's links while no page has a row: the starting pages."""
    return [FooterLink(page.slug, page.title) for page in STARTING_PAGES]


def sitemap_pages() -> list[tuple[str, datetime | None]]:
    """Return the slug and last change of every published page, in one query."""
    rows = db.session.execute(
        sa.select(ContentPage.slug, ContentPage.is_published, ContentPage.updated_at, ContentPage.position)
        .order_by(ContentPage.position, ContentPage.id)
    ).all()
    saved = {row.slug for row in rows}
    listed = [(row.position, row.slug, row.updated_at) for row in rows if row.is_published]
    listed += [(page.position, page.slug, None) for page in STARTING_PAGES if page.slug not in saved]
    return [(slug, updated_at) for _, slug, updated_at in sorted(listed, key=lambda item: item[0])]


def admin_pages(term: str, status: str, page: int, per_page: int) -> Page:
    """Return a page of content pages in their order; `term` matches titles and slugs, `status` published or draft."""
    conditions = []
    if term:
        pattern = contains_pattern(term)
        conditions.append(sa.or_(ContentPage.title.ilike(pattern, escape="\\"),
                                 ContentPage.slug.ilike(pattern, escape="\\")))
    if status in ("published", "draft"):
        conditions.append(ContentPage.is_published.is_(status == "published"))
    condition = sa.and_(sa.true(), *conditions)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ContentPage).where(condition)) or 0
    rows = db.session.scalars(
        sa.select(ContentPage).where(condition).order_by(ContentPage.position, ContentPage.title, ContentPage.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    return Page(list(rows), page, per_page, total)


def unsaved_starting_pages() -> list[StartingPage]:
    """Return the starting pages that have no row: shoppers see their starting text."""
    saved = set(db.session.scalars(sa.select(ContentPage.slug).where(ContentPage.slug.in_(STARTING_BY_SLUG))))
    return [page for page in STARTING_PAGES if page.slug not in saved]


def page_for_edit(page_id: int) -> ContentPage | None:
    """Return one content page, or None."""
    return db.session.get(ContentPage, page_id)


def create_page(actor: User, fields: PageFields) -> Saved:
    """Create a content page, audited; a missing slug is made from the title."""
    values = _values(fields)
    with write_transaction():
        _check_slug_free(values["slug"], None)
        page = ContentPage(**values)
        db.session.add(page)
        _flush_unique()
        audit.record(actor, "content_page.create", "content_page", page.id, f"Created the page {page.title}",
                     {name: [None, value] for name, value in values.items()})
        saved = Saved(page.id, page.title, page.slug, [])
    store_settings.forget()
    return saved


def update_page(actor: User, page_id: int, fields: PageFields) -> Saved:
    """Change a content page, audited with what was before; return which fields changed."""
    values = _values(fields)
    with write_transaction():
        page = db.session.get(ContentPage, page_id, with_for_update=True)
        if page is None:
            raise NotFound("That page no longer exists.")
        _check_slug_free(values["slug"], page_id)
        before = {name: getattr(page, name) for name in values}
        changes = audit.changed_fields(before, values)
        for name, value in values.items():
            setattr(page, name, value)
        _flush_unique()
        labels = [FIELD_LABELS[name] for name in changes]
        if changes:
            audit.record(actor, "content_page.update", "content_page", page.id,
                         f"Changed {', '.join(labels)} of the page {page.title}", changes)
        saved = Saved(page.id, page.title, page.slug, labels)
    store_settings.forget()
    return saved


def delete_page(actor: User, page_id: int) -> str:
    """Delete a content page, audited with what it held; return its title."""
    with write_transaction():
        page = db.session.get(ContentPage, page_id, with_for_update=True)
        if page is None:
            raise NotFound("That page no longer exists.")
        before = {name: getattr(page, name) for name in FIELD_LABELS}
        title = page.title
        db.session.delete(page)
        audit.record(actor, "content_page.delete", "content_page", page_id, f"Deleted the page {title}",
                     {name: [value, None] for name, value in before.items()})
    store_settings.forget()
    return title


def _values(fields: PageFields) -> dict:
    """Return the fields checked and trimmed, or raise FieldRefusal naming the first one that is wrong."""
    title = " ".join((fields.title or "").split())
    if not title:
        raise FieldRefusal("title", "Please enter the title.")
    if len(title) > lengths.PAGE_TITLE:
        raise FieldRefusal("title", f"The title can be at most {lengths.PAGE_TITLE} characters long.")
    if not text.storable(title):
        raise FieldRefusal("title", "The title contains characters we cannot store.")
    slug = (fields.slug or "").strip() or slugify(title, lengths.PAGE_SLUG)
    if not slug:
        raise FieldRefusal("slug", "Please enter a slug: the title has no letters or digits to make one from.")
    if len(slug) > lengths.PAGE_SLUG:
        raise FieldRefusal("slug", f"The slug can be at most {lengths.PAGE_SLUG} characters long.")
    if not is_valid_slug(slug):
        raise FieldRefusal("slug", "A slug has lower-case letters and digits, joined by single hyphens "
                                   "(e.g. gift-cards).")
    body = (fields.body or "").replace("\r\n", "\n").strip()
    if len(body) > lengths.PAGE_BODY:
        raise FieldRefusal("body", f"The text can be at most {lengths.PAGE_BODY:,} characters long.")
    if not text.storable(body, multiline=True):
        raise FieldRefusal("body", "The text contains characters we cannot store.")
    if not -10_000 <= fields.position <= 10_000:
        raise FieldRefusal("position", "The position must be between -10,000 and 10,000.")
    return {"title": title, "slug": slug, "body": body, "is_published": bool(fields.is_published),
            "show_in_footer": bool(fields.show_in_footer), "position": fields.position}


def _check_slug_free(slug: str, page_id: int | None) -> None:
    query = sa.select(ContentPage.title).where(ContentPage.slug == slug)
    if page_id is not None:
        query = query.where(ContentPage.id != page_id)
    holder = db.session.scalar(query)
    if holder is not None:
        raise FieldRefusal("slug", f"The slug {slug} is already used by the page {holder}; choose another.")


def _flush_unique() -> None:
    """Flush; a slug another owner took a moment ago becomes a refusal (the transaction rolls back)."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise FieldRefusal("slug", "That slug was taken a moment ago; please choose another.") from error
