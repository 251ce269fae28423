"""The storefront product page: the option picker, inactive variants, specifications, Markdown, old slugs."""
import re

import sqlalchemy as sa

from shop.extensions import db
from shop.models import ProductImage, ProductSlugRedirect, ProductSpecification
from shop.services.cart import write_cart
from tests.factories import make_category, make_product

PICKER_VALUE = re.compile(r'<(a|span) class="(variant[^"]*)"(?:\s+href="[^"]*variant=(\d+)")?\s*([^>]*)>([^<]*)')


def picker(page: str, option: int) -> list[tuple[str, int | None, set[str], bool]]:
    """Return (value, linked variant id, classes, aria-current) for each value of the option's picker row."""
    block = page.split(f'data-testid="option-{option}"', 1)[1].split("</fieldset>", 1)[0]
    found = []
    for match in PICKER_VALUE.finditer(block):
        _, classes, variant, rest, value = match.groups()
        found.append((value.strip(), int(variant) if variant else None, set(classes.split()) - {"variant"},
                      'aria-current="true"' in rest))
    return found


def jacket():
    return make_product("Jacket", variants=[
        {"size": "S", "colour": "Red", "stock": 4, "price_cents": 4900},
        {"size": "S", "colour": "Blue", "stock": 0, "price_cents": 5100},
        {"size": "M", "colour": "Red", "stock": 9, "price_cents": 5500},
        {"size": "M", "colour": "Green", "stock": 2, "price_cents": 5600},
    ])


def test_each_option_links_to_the_variant_with_that_value_and_the_other_choices(client):
    product = jacket()
    db.session.commit()
    s_red, s_blue, m_red, m_green = product.variants

    page = client.get(f"/products/{product.slug}").get_data(as_text=True)
    assert '<legend>Size: <span class="picked">S</span></legend>' in page
    assert picker(page, 1) == [("S", s_red.id, {"selected"}, True), ("M", m_red.id, set(), False)]
    # Green is not sold in S: its link changes the size to the first variant that has it.
    assert picker(page, 2) == [("Red", s_red.id, {"selected"}, True), ("Blue", s_blue.id, {"sold-out"}, False),
                               ("Green", m_green.id, {"unavailable"}, False)]

    page = client.get(f"/products/{product.slug}?variant={m_red.id}").get_data(as_text=True)
    assert '<span data-testid="price">$55.00</span>' in page
    assert picker(page, 1) == [("S", s_red.id, set(), False), ("M", m_red.id, {"selected"}, True)]
    assert picker(page, 2) == [("Red", m_red.id, {"selected"}, True), ("Blue", s_blue.id, {"unavailable"}, False),
                               ("Green", m_green.id, set(), False)]
    assert "(not available with the other options chosen)" in page


def test_inactive_variants_are_neither_shown_nor_sold(client):
    product = jacket()
    s_red, s_blue, m_red, m_green = product.variants
    m_green.is_active = False
    db.session.commit()

    page = client.get(f"/products/{product.slug}?variant={m_green.id}").get_data(as_text=True)
    assert f'name="variant_id" value="{s_red.id}"' in page  # the inactive one is never selected
    assert [value for value, *_ in picker(page, 2)] == ["Red", "Blue", "Green"]
    assert picker(page, 2)[2] == ("Green", None, {"unavailable"}, False)  # no active variant has it: no link
    assert "$56.00" not in page

    response = client.post("/cart/add", data={"variant_id": m_green.id, "quantity": 1}, follow_redirects=True)
    assert "Sorry, Jacket (M / Green) is no longer sold." in response.get_data(as_text=True)

    with client.session_transaction() as session:
        write_cart(session, {m_green.id: 1, m_red.id: 1})
    page = client.get("/cart").get_data(as_text=True)
    assert "Jacket (M / Green) is no longer sold and was removed from your cart." in page
    with client.session_transaction() as session:
        assert session["cart"] == {str(m_red.id): 1}


def test_a_product_with_only_inactive_variants_is_not_found(client):
    product = make_product("Lamp")
    product.variants[0].is_active = False
    db.session.commit()
    assert client.get(f"/products/{product.slug}").status_code == 404
    page = client.get("/search?q=lamp").get_data(as_text=True)
    assert f'href="/products/{product.slug}"' not in page


def test_specifications_and_the_markdown_description_are_shown_safely(client):
    product = make_product("Oak Table")
    product.description = ("Solid **oak**, oiled by hand. Seats six.\n\n- Made to order\n- Ships flat\n\n"
                           "[Care guide](https://example.com/care) <script>alert(1)</script> "
                           "![x](https://example.com/x.png)")
    db.session.add_all([ProductSpecification(product_id=product.id, position=1, name="Width", value="180 cm"),
                        ProductSpecification(product_id=product.id, position=0, name="Material", value="Oak")])
    db.session.commit()

    page = client.get(f"/products/{product.slug}").get_data(as_text=True)
    assert "<p>Solid <strong>oak</strong>, oiled by hand. Seats six.</p>" in page
    assert "<li>Made to order</li>" in page
    assert '<a href="https://example.com/care" rel="nofollow noopener">Care guide</a>' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=\"https://example.com/x.png\"" not in page
    assert "<dt>Material</dt><dd>Oak</dd></div><div><dt>Width</dt><dd>180 cm</dd>" in page
    assert "<title>Oak Table · Shop</title>" in page
    assert '<meta name="description" content="Solid oak, oiled by hand.">' in page

    product.seo_title, product.meta_description = "Oak dining table for six", "Hand-oiled & made to order."
    db.session.commit()
    page = client.get(f"/products/{product.slug}").get_data(as_text=True)
    assert "<title>Oak dining table for six · Shop</title>" in page
    assert '<meta name="description" content="Hand-oiled &amp; made to order.">' in page


def test_an_old_slug_answers_301_to_the_current_one_while_the_product_is_active(client):
    product = make_product("Kettle", variants=[{"size": "1L"}, {"size": "2L"}])
    db.session.add(ProductSlugRedirect(old_slug="old-kettle", product_id=product.id))
    db.session.commit()
    second = product.variants[1]

    response = client.get(f"/products/old-kettle?variant={second.id}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/products/{product.slug}?variant={second.id}"

    product.is_active = False
    db.session.commit()
    assert client.get("/products/old-kettle").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductSlugRedirect)) == 1


def test_the_selected_variants_image_comes_first_and_loads_eagerly(client):
    product = make_product("Mug", variants=[{"colour": "White"}, {"colour": "Black"}], images=3)
    black = product.variants[1]
    third = db.session.scalars(sa.select(ProductImage).where(ProductImage.product_id == product.id)
                               .order_by(ProductImage.position)).all()[2]
    black.image_id = third.id
    db.session.commit()

    page = client.get(f"/products/{product.slug}?variant={black.id}").get_data(as_text=True)
    main = re.findall(r"<img [^>]*>", page.split('data-testid="main-image"', 1)[1])[0]
    assert third.filename.rsplit("/", 1)[1] in main and 'loading="eager"' in main
    thumbs = re.findall(r"<img [^>]*>", page.split('class="gallery-thumbs"', 1)[1].split("</ul>", 1)[0])
    assert len(thumbs) == 3
    assert third.filename.rsplit("/", 1)[1] in thumbs[0]
    assert all('loading="lazy"' in image for image in thumbs)

    page = client.get(f"/products/{product.slug}").get_data(as_text=True)
    main = re.findall(r"<img [^>]*>", page.split('data-testid="main-image"', 1)[1])[0]
    assert "photo 1" in main  # no image of its own: the product's first


def test_the_page_runs_the_same_queries_for_a_small_or_large_product(app, count_queries):
    small = make_product("Small", variants=[{"size": "S"}], images=1)
    sizes = [{"size": size, "colour": colour} for size in ("XS", "S", "M", "L", "XL") for colour in ("Red", "Blue")]
    large = make_product("Large", variants=sizes, images=6)
    db.session.add_all(ProductSpecification(product_id=large.id, position=n, name=f"Spec {n}", value="x")
                       for n in range(8))
    make_category("Elsewhere")
    db.session.commit()
    counts = []
    for url in (f"/products/{small.slug}", f"/products/{large.slug}"):
        visitor = app.test_client()  # a first visit each: nothing recently viewed to show
        with count_queries() as statements:
            assert visitor.get(url).status_code == 200
        counts.append(len(statements))
    # The product with its variants, options, specifications and images; the category tree; the
    # review figures; related products and their card prices and photos.
    assert counts[0] == counts[1] <= 11


def test_the_wishlist_offers_only_active_variants(client, user):
    product = make_product("Boots", variants=[{"size": "41"}, {"size": "42"}, {"size": "43"}])
    product.variants[1].is_active = False
    db.session.commit()
    client.post("/account/wishlist/add", data={"product_id": product.id})
    page = client.get("/account/wishlist").get_data(as_text=True)
    assert ">41 · $19.99</option>" in page and ">43 · $19.99</option>" in page
    assert ">42 · " not in page
