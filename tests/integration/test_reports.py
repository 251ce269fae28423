"""Sales figures to the cent: known orders, partial and full refunds, cancellations, unpaid and failed orders."""
from datetime import UTC, date, datetime

import pytest

from shop.extensions import db
from shop.models import Order, OrderItem, Refund
from shop.models.base import now_utc
from shop.models.order import ActorKind, OrderStatus, PaymentStatus, RefundStatus
from shop.services import ShopError, admin_overview, reports
from shop.services.reports import DateRange
from tests.factories import make_category, make_product

MARCH = DateRange(date(2026, 3, 1), date(2026, 3, 10))


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def order(email: str, lines, paid_at: datetime | None, *, shipping=0, discount=0, tax=0, tax_included=False,
          coupon=None, country="US", region="OR", status=OrderStatus.PAID, payment=PaymentStatus.PAID,
          refunded=0) -> Order:
    """Make an order of (variant, quantity) lines whose total follows from its parts, as placement computes it."""
    subtotal = sum(variant.price_cents * quantity for variant, quantity in lines)
    placed = paid_at or now_utc()
    made = Order(number=f"R{email[:3].upper()}{placed:%m%d%H%M%S}", email=email, status=status,
                 payment_status=payment, currency="usd", subtotal_cents=subtotal, shipping_cents=shipping,
                 discount_cents=discount, tax_cents=tax, tax_included=tax_included,
                 total_cents=subtotal - discount + shipping + (0 if tax_included else tax), coupon_code=coupon,
                 ship_name=email, ship_country=country, ship_region=region, created_at=placed, paid_at=paid_at,
                 refunded_cents=refunded)
    db.session.add(made)
    db.session.flush()
    db.session.add_all(OrderItem(order_id=made.id, variant_id=variant.id, product_name=variant.product.name,
                                 variant_name=variant.label, sku=variant.sku, unit_price_cents=variant.price_cents,
                                 quantity=quantity) for variant, quantity in lines)
    db.session.flush()
    return made


def refund(of: Order, amount: int, settled_at: datetime | None, status=RefundStatus.SUCCEEDED, reason="",
           cancels=False) -> Refund:
    made = Refund(order_id=of.id, amount_cents=amount, status=status, settled_at=settled_at, reason=reason,
                  actor_kind=ActorKind.ADMIN, actor_email="owner@example.com", cancels_order=cancels,
                  created_at=settled_at or now_utc())
    db.session.add(made)
    db.session.flush()
    return made


@pytest.fixture
def march(app):
    """Orders around 1-10 March 2026, with the figures each report table must show written in the tests."""
    mugs, tees = make_category("Mugs"), make_category("Tees")
    mug = make_product("Mug", category=mugs, price_cents=1200,
                       variants=[{"sku": "MUG-RED", "colour": "Red"}, {"sku": "MUG-BLUE", "colour": "Blue"}])
    tee = make_product("Tee", category=tees, price_cents=2500, variants=[{"sku": "TEE-M", "size": "M"}])
    red, blue = mug.variants
    medium = tee.variants[0]
    # Before the range: dave's first order, and a refund of it that goes through inside the range.
    early = order("dave@example.com", [(medium, 1)], at(20, month=2), payment=PaymentStatus.PARTIALLY_REFUNDED,
                  refunded=300)
    refund(early, 300, at(3, 9))
    order("erin@example.com", [(red, 1)], at(28, 23, 59, 59, month=2))  # one second before the range
    # In the range.
    order("alice@example.com", [(red, 2), (medium, 1)], at(2, 10), shipping=500, discount=490, tax=393,
          coupon="SAVE10")  # 4900 - 490 + 500 + 393 = 5303
    order("bob@example.com", [(blue, 4)], at(2, 23, 59, 59), shipping=500, country="GB", region="")  # 5300
    carol = order("carol@example.com", [(medium, 3)], at(5, 0, 0, 0), payment=PaymentStatus.PARTIALLY_REFUNDED,
                  refunded=2500)  # 7500
    refund(carol, 2500, at(6), reason="Too small")
    refund(carol, 1000, at(6, 13), status=RefundStatus.FAILED)  # refused when it settled: no money went back
    refund(carol, 700, None, status=RefundStatus.PENDING)  # not through yet
    # Cancelled after payment: counted when paid, and its full refund counted when it went through.
    cancelled = order("alice@example.com", [(red, 1)], at(7), discount=120, coupon="SAVE10",
                      status=OrderStatus.CANCELLED, payment=PaymentStatus.REFUNDED, refunded=1080)  # 1080
    refund(cancelled, 1080, at(8), reason="Cancelled", cancels=True)
    order("dave@example.com", [(medium, 1)], at(9), tax=200, tax_included=True, region="CA")  # 2500, tax inside
    # Never counted: cancelled before payment, a failed payment, an expired reservation, paid after the range.
    order("fay@example.com", [(red, 5)], None, status=OrderStatus.CANCELLED, payment=PaymentStatus.UNPAID)
    order("gus@example.com", [(blue, 5)], None, status=OrderStatus.CANCELLED, payment=PaymentStatus.FAILED)
    order("hal@example.com", [(medium, 5)], None, status=OrderStatus.EXPIRED, payment=PaymentStatus.UNPAID)
    order("ivy@example.com", [(medium, 2)], at(11, 0, 0, 0))
    # A payment time without the money (the payment failed afterwards): only the payment states that hold
    # money count.
    order("jay@example.com", [(medium, 4)], at(4), status=OrderStatus.CANCELLED, payment=PaymentStatus.FAILED)
    db.session.commit()


def test_the_summary_counts_paid_orders_minus_refunds_to_the_cent(march):
    report = reports.sales_report(MARCH)
    summary = report.summary

    assert summary.orders == 5
    assert summary.sales_cents == 5303 + 5300 + 7500 + 1080 + 2500 == 21683
    assert summary.refunds == 3
    assert summary.refunds_cents == 300 + 2500 + 1080 == 3880
    assert summary.net_cents == 17803
    assert summary.average_order_cents == 4337  # 21683 / 5 = 4336.6
    assert (summary.discount_cents, summary.shipping_cents, summary.tax_cents) == (610, 1000, 593)


def test_each_day_holds_the_orders_paid_and_the_refunds_settled_on_it_in_utc(march):
    days = {day.day.day: (day.orders, day.sales_cents, day.refunds_cents, day.net_cents)
            for day in reports.sales_report(MARCH).days}

    assert list(days) == list(range(1, 11))  # quiet days are there too
    assert days == {
        1: (0, 0, 0, 0), 2: (2, 10603, 0, 10603), 3: (0, 0, 300, -300), 4: (0, 0, 0, 0), 5: (1, 7500, 0, 7500),
        6: (0, 0, 2500, -2500), 7: (1, 1080, 0, 1080), 8: (0, 0, 1080, -1080), 9: (1, 2500, 0, 2500),
        10: (0, 0, 0, 0),
    }


def test_best_sellers_rank_by_revenue_or_by_units(march):
    by_revenue = reports.sales_report(MARCH)
    assert [(row.name, row.units, row.sales_cents) for row in by_revenue.products] == [
        ("Tee", 5, 12500), ("Mug", 7, 8400)]
    assert [(row.sku, row.variant_name, row.units, row.sales_cents) for row in by_revenue.variants] == [
        ("TEE-M", "M", 5, 12500), ("MUG-BLUE", "Blue", 4, 4800), ("MUG-RED", "Red", 3, 3600)]

    by_units = reports.sales_report(MARCH, ranking="units")
    assert [row.name for row in by_units.products] == ["Mug", "Tee"]
    assert [row.sku for row in by_units.variants] == ["TEE-M", "MUG-BLUE", "MUG-RED"]


def test_categories_customers_coupons_tax_and_refunds(march):
    report = reports.sales_report(MARCH)

    assert [(row.name, row.units, row.sales_cents) for row in report.categories] == [
        ("Tees", 5, 12500), ("Mugs", 7, 8400)]
    # Alice's two orders and bob's and carol's are from new customers; dave paid before March.
    assert [(row.label, row.customers, row.orders, row.sales_cents) for row in report.customers] == [
        ("New", 3, 4, 5303 + 5300 + 7500 + 1080), ("Returning", 1, 1, 2500)]
    assert [(row.code, row.orders, row.discount_cents, row.sales_cents, row.refunded_cents)
            for row in report.coupons] == [("SAVE10", 2, 610, 6383, 1080)]
    assert [(row.country, row.region, row.orders, row.tax_cents, row.sales_cents) for row in report.tax] == [
        ("GB", "", 1, 0, 5300), ("US", "CA", 1, 200, 2500), ("US", "OR", 3, 393, 5303 + 7500 + 1080)]
    assert [(row.order_number.startswith(prefix), row.amount_cents) for row, prefix in
            zip(report.refunds, ("RALI", "RCAR", "RDAV"), strict=True)] == [(True, 1080), (True, 2500), (True, 300)]
    assert report.refunds[0].cancels_order and report.refunds[1].reason == "Too small"


def test_items_of_a_deleted_product_still_count(app):
    variant = make_product("Lamp", price_cents=4000).variants[0]
    order("kim@example.com", [(variant, 2)], at(4))
    db.session.flush()
    db.session.delete(variant.product)
    db.session.commit()

    report = reports.sales_report(MARCH)
    assert [(row.product_id, row.name, row.units, row.sales_cents) for row in report.products] == [
        (None, "Products since deleted", 2, 8000)]
    assert [(row.sku, row.product_name, row.sales_cents) for row in report.variants] == [
        (variant.sku, "Lamp", 8000)]
    assert [(row.category_id, row.name) for row in report.categories] == [(None, "Products since deleted")]


def test_csv_tables_hold_every_row_with_amounts_as_decimals(march):
    daily = reports.csv_text("daily", MARCH, "revenue", "usd").lstrip("\ufeff").splitlines()
    assert daily[0] == "day,orders,sales,refunds,refunded,net"
    assert daily[2] == "2026-03-02,2,106.03,0,0.00,106.03"
    assert daily[3] == "2026-03-03,0,0.00,1,3.00,-3.00"
    assert len(daily) == 11

    products = reports.csv_text("products", MARCH, "units", "usd").splitlines()
    assert [line.split(",")[1:] for line in products[1:]] == [["Mug", "7", "84.00"], ["Tee", "5", "125.00"]]
    refunds = reports.csv_text("refunds", MARCH, "revenue", "usd").splitlines()
    assert refunds[2].split(",")[1:] == ["2026-03-06T12:00:00Z", "25.00", "Too small", "owner@example.com", "no"]


def test_csv_quotes_text_a_spreadsheet_would_run(app):
    variant = make_product("=HYPERLINK(1)", price_cents=100).variants[0]
    order("x@example.com", [(variant, 1)], at(4))
    db.session.commit()

    products = reports.csv_text("products", MARCH, "revenue", "usd").splitlines()
    assert products[1].split(",")[1] == "'=HYPERLINK(1)"


@pytest.mark.parametrize(("first", "last", "expected"), [
    ("", "", (date(2026, 11, 8), date(2026, 12, 7))),
    ("2026-12-01", "", (date(2026, 12, 1), date(2026, 12, 7))),
    ("", "2026-06-30", (date(2026, 6, 1), date(2026, 6, 30))),
    ("2026-03-10", "2026-03-01", (date(2026, 3, 1), date(2026, 3, 10))),  # typed backwards
    ("2025-12-07", "2026-12-07", (date(2025, 12, 7), date(2026, 12, 7))),  # 366 days
])
def test_a_range_is_read_from_two_days(first, last, expected):
    chosen = reports.parse_range(first, last, today=date(2026, 12, 7))
    assert (chosen.first, chosen.last) == expected


@pytest.mark.parametrize(("first", "last", "message"), [
    ("2025-12-06", "2026-12-07", "at most 366 days"),
    ("yesterday", "", "like 2026-12-01"),
    ("2026-02-30", "", "like 2026-12-01"),
    ("", "12/07/2026", "like 2026-12-01"),
    ("0001-01-01", "", "between 1970-01-01"),
])
def test_a_bad_range_is_refused_with_a_message(first, last, message):
    with pytest.raises(ShopError, match=message):
        reports.parse_range(first, last, today=date(2026, 12, 7))


def test_the_chart_scales_to_round_steps_and_dips_below_zero_for_refund_days(march):
    chart = reports.revenue_chart(reports.sales_report(MARCH).days, "usd")

    assert [tick.label for tick in chart.y_ticks] == ["-$50", "$0", "$50", "$100", "$150"]
    assert len(chart.bars) == 10 and chart.bars[2].negative and not chart.bars[1].negative
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.day == date(2026, 3, 2) and tallest.amount == "$106.03"
    assert chart.bars[2].y == chart.zero  # a dip starts at the zero line and goes down
    assert "$178.03 in all" in chart.description and "Highest $106.03 on 2026-03-02" in chart.description


def test_the_dashboard_compares_each_period_with_the_same_stretch_before_it(app):
    variant = make_product(price_cents=100).variants[0]

    def paid(total_cents: int, when: datetime) -> Order:
        made = order(f"p{when:%m%d%H}@example.com", [(variant, total_cents // 100)], when)
        return made

    paid(3000, at(10, 9))  # today
    paid(1000, at(9, 10))  # yesterday before this time: today's comparison
    paid(500, at(9, 16))  # yesterday after this time: not in today's comparison, in the 7 days
    earlier = paid(2000, at(1))  # the 7 days before
    paid(4000, at(20, month=1))  # the 30 days before
    refund(earlier, 500, at(10, 8))
    refund(earlier, 200, at(2))
    db.session.commit()

    figures = admin_overview.overview(now=at(10, 15))
    periods = {period.key: period for period in figures.periods}

    today, week, month = periods["today"], periods["7d"], periods["30d"]
    assert (today.current.sales_cents, today.current.paid_orders, today.current.refunds_cents) == (3000, 1, 500)
    assert (today.current.revenue_cents, today.current.average_order_cents) == (2500, 3000)
    assert (today.previous.revenue_cents, today.previous.paid_orders) == (1000, 1)
    assert today.change("revenue_cents").percent == 150 and today.change("paid_orders").direction == "same"
    assert (week.current.revenue_cents, week.current.paid_orders, week.current.average_order_cents) == (4000, 3, 1500)
    assert (week.previous.revenue_cents, week.previous.refunds_cents) == (1800, 200)
    assert week.change("revenue_cents").percent == 122
    assert (month.current.revenue_cents, month.current.paid_orders, month.previous.revenue_cents) == (5800, 4, 4000)
    assert month.change("revenue_cents").percent == 45 and month.change("refunds_cents").percent is None
