"""Every storefront, account and admin page fits a 390 px phone and a 1280 px desktop: nothing
scrolls sideways, and every button and link one can see can be clicked (no other element covers it).

Home, category, product, cart and checkout are photographed at both widths into the artifacts
folder (tests/browser/artifacts, or $SHOP_TEST_ARTIFACTS) for a person to look at.
"""
import pytest

from tests.browser.site_map import ACCOUNT, ADMIN, FOOTER, STOREFRONT, WIDTHS, open_visit

pytestmark = pytest.mark.browser

PHOTOGRAPHED = {"home", "category", "product", "cart", "checkout"}

# For each control a shopper can see: scroll it into view and ask what is at its centre. Hidden on
# purpose, and so skipped: what CSS hides (closed <details>, display: none) and the visually-hidden
# pattern (clipped to nothing, or parked off the page until focused, like a skip link).
UNCLICKABLE_CONTROLS = """() => {
    const describe = (element) => {
        const text = (element.innerText || element.value || element.getAttribute("aria-label") || "")
            .replace(/\\s+/g, " ").trim().slice(0, 50);
        const classes = typeof element.className === "string" && element.className.trim()
            ? "." + element.className.trim().split(/\\s+/).join(".") : "";
        const href = element.getAttribute("href");
        return `<${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""}${classes}> "${text}"`
            + (href ? ` (${href})` : "");
    };
    const clippedAway = (element) => {
        for (let node = element; node; node = node.parentElement) {
            const style = getComputedStyle(node);
            if ((style.clip !== "auto" && style.position === "absolute") || style.clipPath.startsWith("inset(50%")) {
                return true;
            }
        }
        return false;
    };
    const area = (rect) => rect.width * rect.height;
    const problems = [];
    const controls = document.querySelectorAll(
        "a[href], button, summary, input[type=submit], input[type=button], input[type=image], [role=button]");
    for (const element of controls) {
        if (!element.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) || clippedAway(element)) {
            continue;
        }
        element.scrollIntoView({block: "center", inline: "center"});
        // A link wrapped onto two lines has a box on each; the centre of both together may be other text.
        const boxes = [...element.getClientRects()];
        const box = boxes.length ? boxes.reduce((largest, rect) => area(rect) > area(largest) ? rect : largest)
            : element.getBoundingClientRect();
        if (box.right + scrollX <= 0 || box.bottom + scrollY <= 0) {
            continue;
        }
        if (box.width < 1 || box.height < 1) {
            problems.push(`${describe(element)} is shown with no size (${box.width}x${box.height})`);
            continue;
        }
        const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
        const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
        const hit = document.elementFromPoint(x, y);
        if (!hit || (hit !== element && !element.contains(hit))) {
            problems.push(`${describe(element)} is covered at its centre (${Math.round(x)}, ${Math.round(y)}) by `
                + (hit ? describe(hit) : "nothing: it lies outside the window"));
        }
    }
    window.scrollTo(0, 0);
    return problems;
}"""

# At most 5 s, in case a lazy picture was never asked for. (wait_for_function would poll with eval,
# which the shop's content security policy refuses.)
PICTURES_LOADED = """() => Promise.race([
    Promise.all([...document.images].map((image) => image.complete ? null : new Promise(
        (done) => { image.addEventListener("load", done); image.addEventListener("error", done); }))),
    new Promise((done) => setTimeout(done, 5000))])"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("visit", STOREFRONT + ACCOUNT + FOOTER + ADMIN, ids=lambda visit: visit.name)
def test_page_fits_the_screen_and_every_control_can_be_clicked(visitors, storefront, visit, width, artifacts):
    tab = open_visit(visitors, storefront, visit, WIDTHS[width])
    try:
        document_width, window_width = tab.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        problems = tab.evaluate(UNCLICKABLE_CONTROLS)
        if visit.name in PHOTOGRAPHED:
            # Scrolling to every control above has asked for the lazy pictures; photograph them loaded.
            tab.evaluate(PICTURES_LOADED)
            tab.screenshot(path=str(artifacts / f"{visit.name}-{width}.png"), full_page=True)
        assert document_width <= window_width, (
            f"{visit.name} at {width} px scrolls sideways: the page is {document_width} px wide")
        assert not problems, f"{visit.name} at {width} px ({tab.url}):\n  " + "\n  ".join(problems)
    finally:
        tab.close()


def test_the_checkout_with_errors_is_the_checkout_form_saying_what_is_wrong(visitors, storefront):
    tab = open_visit(visitors, storefront, next(visit for visit in STOREFRONT if visit.name == "checkout-errors"),
                     WIDTHS["390"])
    try:
        assert tab.url == f"{storefront.url}/checkout"
        assert tab.locator(".error").count() >= 3
    finally:
        tab.close()


def test_the_check_finds_covered_and_sizeless_controls_and_skips_those_hidden_on_purpose(page):
    page.set_content("""
        <style>.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
               .skip { position: absolute; top: -40px; } .cover { position: fixed; inset: 0 0 auto 0; height: 60px; }
               .empty { display: inline-block; width: 0; height: 0; }</style>
        <a class="skip" href="#main">Skip to content</a>
        <button>Covered</button><div class="cover">A banner over the button</div>
        <p style="margin-top: 80px"><a href="/ok">Plain link</a> <a class="empty" href="/shrunk"></a></p>
        <details><summary>Menu</summary><a href="/inside">Inside the closed menu</a></details>
        <a class="visually-hidden" href="/hidden">Read by screen readers only</a>
    """)
    problems = page.evaluate(UNCLICKABLE_CONTROLS)
    assert len(problems) == 2
    assert problems[0].startswith('<button> "Covered" is covered') and "A banner over the button" in problems[0]
    assert problems[1].startswith('<a.empty> "" (/shrunk) is shown with no size')
