"""`manage.py seed_history`: a demo history made through the shop's services at the
Stripe emulator, after which the books and Stripe agree."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Min

from catalog.factories import ProductFactory
from catalog.inventory import inventory_check
from checkout.models import Order
from checkout.periods import period_of, shop_today
from checkout.reports import sales_report

pytestmark = pytest.mark.django_db

S = Order.Status


def test_a_history_that_check_inventory_and_reconcile_stripe_agree_with(stripe, admin_user):
    ProductFactory(name="Notebook", unit_amount=1850, stock_on_hand=4)
    ProductFactory(name="Pencil", unit_amount=450, stock_on_hand=2)
    ProductFactory(name="Tray", unit_amount=3900, stock_on_hand=1)
    out = io.StringIO()
    call_command("seed_history", "--days", "21", "--per-day", "4", stdout=out)
    summary = out.getvalue().strip().splitlines()[-1]
    assert summary.startswith("seed_history: "), summary
    print(summary)

    orders = Order.objects.all()
    statuses = set(orders.values_list("status", flat=True))
    assert statuses <= {S.PAID, S.CANCELED, S.REFUNDED}
    assert {S.PAID, S.CANCELED, S.REFUNDED} <= statuses
    today = shop_today()
    first = orders.aggregate(first=Min("created_at"))["first"]
    assert (today - first.date()).days >= 14  # spread over the weeks, not made today
    for order in orders.filter(status__in=[S.PAID, S.REFUNDED]):
        assert order.created_at < order.paid_at < order.created_at + timedelta(minutes=10)
        sales = order.stock_movements.filter(delta__lt=0)
        assert sales and all(sale.created_at == order.paid_at for sale in sales)
    for order in orders.filter(status=S.REFUNDED):
        assert order.refunded_at.date() > order.paid_at.date()

    report = inventory_check()
    assert not report.mismatches, report.mismatches

    result = io.StringIO()
    since = str(today - timedelta(days=22))
    call_command(
        "reconcile_stripe",
        "--since",
        since,
        "--until",
        str(today + timedelta(days=1)),
        stdout=result,
    )
    assert result.getvalue().startswith("reconcile_stripe: OK: ")

    sold = sales_report(
        period=period_of(today - timedelta(days=21), today), currency="eur", with_stock=True
    )
    assert sold.orders_paid == orders.filter(paid_at__isnull=False).count()
    assert sold.refunds == orders.filter(status=S.REFUNDED).count()
    assert sum(1 for day in sold.days if day.orders_paid) >= 10


def test_it_never_pays_anywhere_but_at_the_emulator(db, settings):
    ProductFactory()
    settings.STRIPE_API_BASE = None
    with pytest.raises(CommandError, match="emulator"):
        call_command("seed_history", "--days", "2")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="No Stripe emulator answers"):
        call_command("seed_history", "--days", "2")
    assert not Order.objects.exists()
