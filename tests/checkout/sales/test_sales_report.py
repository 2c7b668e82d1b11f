"""The sales page's figures: each one equals the ORM aggregate it stands for, on a
fixture with known totals (days counted in the shop's time zone, a refund on a later
day than its payment, orders in another currency and outside the period)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count, F, Sum
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, StockReservation
from checkout import charts, periods
from checkout.models import Order, OrderLine
from checkout.periods import period_of
from checkout.reports import sales_report
from checkout.revenue import CHARGED
from tests.checkout.sales.known_shop import BERLIN, FIRST, LAST, S, at, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(shop):
    return sales_report(period=period_of(FIRST, LAST), currency="eur", with_stock=True)


def day(report, number: int):
    return next(d for d in report.days if d.day == date(2026, 11, number))


def test_revenue_per_day_counts_payments_on_the_shop_days_they_were_paid(report):
    assert [(d.day.day, d.gross, d.orders_paid) for d in report.days if d.gross] == [
        (3, 4500, 2),
        (4, 6000, 1),
        (5, 3000, 1),
    ]
    assert report.gross == 13_500 and report.orders_paid == 4


def test_a_refund_lowers_the_day_it_was_made_not_the_day_of_the_sale(report):
    assert day(report, 5).gross == 3000 and day(report, 5).refunded == 0
    assert day(report, 9).refunded == 3000 and day(report, 9).net == -3000
    assert day(report, 2).refunded == 1000  # paid in October, refunded in November
    assert report.refunded == 4000 and report.refunds == 2
    assert report.net == 9500


def test_each_day_equals_the_orm_aggregate_of_its_orders(report):
    tz = BERLIN
    for figures in report.days:
        start = datetime.combine(figures.day, datetime.min.time(), tzinfo=tz)
        end = start + timedelta(days=1)
        paid = Order.objects.filter(paid_at__gte=start, paid_at__lt=end, currency="eur")
        refunded = Order.objects.filter(
            refunded_at__gte=start, refunded_at__lt=end, currency="eur", paid_at__isnull=False
        )
        assert figures.gross == (paid.aggregate(s=Sum(CHARGED))["s"] or 0)
        assert figures.orders_paid == paid.count()
        assert figures.refunded == (refunded.aggregate(s=Sum(CHARGED))["s"] or 0)
        assert figures.refunds == refunded.count()
        # The parts of a day add up to what was charged that day.
        signs = {p.key: p.sign for p in report.parts}
        assert (
            figures.parts["items"]
            + sum(signs[k] * v for k, v in figures.parts.items() if k != "items")
            == figures.gross
        )


def test_orders_by_status_are_the_orders_placed_in_the_period(report, shop):
    placed = Order.objects.filter(
        created_at__gte=at(1, 0), created_at__lt=at(1, 0, month=12), currency="eur"
    )
    expected = dict(placed.values_list("status").annotate(n=Count("id")))
    got = {s.status: s.orders for s in report.statuses if s.orders}
    assert got == expected == {"paid": 3, "refunded": 2, "canceled": 1, "pending": 1}
    assert [s.status for s in report.statuses] == [value for value, _ in S.choices]
    amounts = {s.status: s.amount for s in report.statuses}
    assert amounts["canceled"] == 2500 and amounts["paid"] == 2000 + 2500 + 6000


def test_conversion_is_checkouts_paid_over_checkouts_started(report):
    assert (report.checkouts_started, report.checkouts_paid) == (7, 4)
    assert report.conversion == pytest.approx(4 / 7)


def test_top_products_by_units_and_by_revenue(report, shop):
    lines = OrderLine.objects.filter(
        order__paid_at__gte=at(1, 0), order__paid_at__lt=at(1, 0, month=12), order__currency="eur"
    )
    expected = {
        row["product_id"]: (row["units"], row["revenue"])
        for row in lines.values("product_id").annotate(
            units=Sum("quantity"), revenue=Sum(F("unit_amount") * F("quantity"))
        )
    }
    a, b = shop["a"], shop["b"]
    assert expected == {a.pk: (6, 6000), b.pk: (3, 7500)}
    assert [(p.product_id, p.units, p.revenue) for p in report.top_by_units] == [
        (a.pk, 6, 6000),
        (b.pk, 3, 7500),
    ]
    assert [p.product_id for p in report.top_by_revenue] == [b.pk, a.pk]
    assert report.units_sold == 9 == lines.aggregate(u=Sum("quantity"))["u"]


def test_stock_on_hand_and_held_in_open_checkouts(report, shop):
    assert report.stock is not None
    assert report.stock.on_hand == Product.objects.aggregate(s=Sum("stock_on_hand"))["s"] == 27
    held = StockReservation.objects.active().aggregate(s=Sum("quantity"))["s"]
    assert report.stock.held == held == 1
    by_id = {p.product_id: p for p in report.top_by_units}
    assert (by_id[shop["a"].pk].on_hand, by_id[shop["a"].pk].held) == (20, 1)
    assert (by_id[shop["b"].pk].on_hand, by_id[shop["b"].pk].held) == (7, 0)


def test_without_the_stock_permission_no_stock_figures_are_read(shop):
    report = sales_report(period=period_of(FIRST, LAST), currency="eur", with_stock=False)
    assert report.stock is None
    assert all(p.on_hand is None for p in report.top_by_units)


def test_another_currency_is_reported_apart(shop):
    report = sales_report(period=period_of(FIRST, LAST), currency="usd", with_stock=False)
    assert report.gross == 5000 and report.orders_paid == 1
    assert report.checkouts_started == 1


def test_a_fixed_number_of_queries_whatever_the_number_of_orders(shop):
    period = period_of(FIRST, LAST)
    with CaptureQueriesContext(connection) as few:
        sales_report(period=period, currency="eur", with_stock=True)
    a = shop["a"]
    for hour in range(10):
        make_order([(a, 1)], status=S.PAID, created=at(10, hour), paid=at(10, hour, 5))
    with CaptureQueriesContext(connection) as more:
        sales_report(period=period, currency="eur", with_stock=True)
    assert len(few) == len(more) <= 9


def test_days_are_the_shop_time_zone_days(settings):
    settings.SHOP_TIME_ZONE = "America/New_York"
    assert periods.shop_time_zone() == ZoneInfo("America/New_York")
    del settings.SHOP_TIME_ZONE
    settings.TIME_ZONE = "Asia/Tokyo"
    assert periods.shop_time_zone() == ZoneInfo("Asia/Tokyo")


def test_the_default_period_is_the_last_thirty_days_today_included():
    now = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC"))  # 1 Dec in Berlin
    period = periods.period_default(now=now)
    assert (period.first, period.last) == (date(2026, 11, 2), date(2026, 12, 1))
    assert len(period.days) == 30


def test_shipping_tax_and_discount_are_series_of_their_own(shop):
    Order.objects.filter(pk=shop["o1"].pk).update(
        shipping_amount=490, amount_tax=0, amount_discount=200, stripe_amount_total=2000 + 490 - 200
    )
    report = sales_report(period=period_of(FIRST, LAST), currency="eur", with_stock=False)
    third = day(report, 3)
    assert third.gross == 2290 + 2500
    assert third.parts["shipping"] == 490 and third.parts["discount"] == 200
    assert third.parts["items"] == 2000 + 2500
    chart = charts.daily_revenue_chart(days=report.days, parts=report.parts, currency="eur")
    assert {s.key for s in chart.legend} >= {"items", "shipping", "discount", "refunds"}


def test_the_chart_draws_sales_above_and_refunds_below_the_axis(report):
    chart = charts.daily_revenue_chart(days=report.days, parts=report.parts, currency="eur")
    above = [b for b in chart.bars if b.series != "refunds"]
    below = [b for b in chart.bars if b.series == "refunds"]
    assert all(b.y + b.height <= chart.zero_y + 0.01 for b in above)
    assert all(b.y >= chart.zero_y - 0.01 for b in below)
    assert len(below) == 2 and "9 Nov" in below[-1].title and "€30.00" in below[-1].title
    assert chart.net_points  # a net line when something is below the axis
    assert chart.ticks[0].label.startswith("-€") and any(t.zero for t in chart.ticks)
    # Bar heights are proportional to the amounts.
    items = {b.title.split(":")[0]: b.height for b in above if b.series == "items"}
    assert items["4 Nov"] / items["3 Nov"] == pytest.approx(6000 / 4500, rel=0.01)


def test_nice_steps_are_round_numbers():
    assert [charts.nice_step(v) for v in (0, 7, 4500, 13_500, 99_999)] == [1, 2, 2000, 5000, 50000]
    assert charts.shares([0, 5, 10]) == [0.0, 50.0, 100.0]
    assert charts.shares([0, 0]) == [0.0, 0.0]
