"""The in-process page store: most recently used pages kept within a budget in bytes."""
from shop.core import page_cache
from shop.core.page_cache import CachedPage, PageStore


def page(text: str) -> CachedPage:
    return CachedPage((text,), (), (("Content-Type", "text/html; charset=utf-8"),))


def test_a_page_read_recently_outlives_older_ones_when_the_budget_is_spent():
    size = page("x" * 1000).size
    store = PageStore(budget_bytes=size * 4)
    for name in "abcd":
        store.put(name, page("x" * 1000))
    assert store.get("a") is not None  # now the most recently used
    store.put("e", page("x" * 1000))

    assert store.get("b") is None
    assert [name for name in "acde" if store.get(name) is None] == []
    assert store.used == size * 4


def test_a_page_larger_than_a_quarter_of_the_budget_is_not_kept():
    store = PageStore(budget_bytes=10_000)
    store.put("small", page("x" * 100))
    store.put("huge", page("x" * 5_000))

    assert store.get("huge") is None
    assert store.get("small") is not None


def test_putting_a_page_again_replaces_it_and_its_size():
    store = PageStore(budget_bytes=100_000)
    store.put("a", page("x" * 1000))
    store.put("a", page("y" * 2000))

    assert store.get("a").texts == ("y" * 2000,)
    assert store.used == page("y" * 2000).size


def test_a_page_is_served_with_each_hole_filled_in_its_place(monkeypatch):
    monkeypatch.setitem(page_cache._fillers, "greeting", lambda name: f"Hello {name}")
    monkeypatch.setitem(page_cache._fillers, "cart", lambda: "3")
    kept = CachedPage(("<p>", ", cart ", "</p>"), (("greeting", {"name": "Ada"}), ("cart", {})), ())

    assert kept.render() == "<p>Hello Ada, cart 3</p>"
