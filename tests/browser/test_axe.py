"""axe-core finds no accessibility violation, of any impact, on the storefront, account, footer
and admin pages, at phone and desktop width.

axe-core comes from npm (tests/browser/package.json; `make test` runs `npm ci` there). It is
evaluated through the DevTools protocol, which the shop's content security policy does not
govern, so the policy that forbids inline scripts stays on while axe runs.
"""
from pathlib import Path

import pytest

from tests.browser.site_map import ACCOUNT, ADMIN, FOOTER, STOREFRONT, WIDTHS, open_visit

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SHOWN_PER_RULE = 5
CHECKED = STOREFRONT + ACCOUNT + FOOTER + ADMIN


@pytest.fixture(scope="module")
def axe_source() -> str:
    """Return axe-core's script; a missing install fails the tests rather than skipping them."""
    assert AXE.exists(), f"{AXE} is missing: run `make test`, or `npm ci` in tests/browser"
    return AXE.read_text(encoding="utf-8")


def describe(violations: list[dict]) -> str:
    """One line per rule broken: its id, impact and help, then the selectors of the elements breaking it."""
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} ({len(nodes)} elements)")
        lines.extend(f"    {' '.join(node['target'])}  {node['failureSummary'].splitlines()[-1].strip()}"
                     for node in nodes[:SHOWN_PER_RULE])
    return "\n  ".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("visit", CHECKED, ids=lambda visit: visit.name)
def test_page_has_no_accessibility_violations(visitors, storefront, axe_source, visit, width):
    tab = open_visit(visitors, storefront, visit, WIDTHS[width])
    try:
        tab.evaluate(axe_source)
        results = tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        assert len(results["passes"]) > 10, f"axe checked next to nothing on {visit.name}: did it run?"
        violations = results["violations"]
        assert not violations, f"{visit.name} at {width} px ({tab.url}):\n  {describe(violations)}"
    finally:
        tab.close()
