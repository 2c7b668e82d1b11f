"""The sales page benchmark's set-up (no server, no timing)."""

import random

import pytest

from bench import dashboard
from checkout.models import Order


def test_history_timestamps_are_written_as_given_and_the_fields_restored():
    created = Order._meta.get_field("created_at")
    updated = Order._meta.get_field("updated_at")
    with dashboard.timestamps_as_given():
        assert not created.auto_now_add and not updated.auto_now
    assert created.auto_now_add and updated.auto_now


@pytest.mark.django_db
def test_orders_spread_over_two_years_with_their_lines():
    products, customers, _, session_key = dashboard.catalog_make()
    dashboard.orders_make(200, products=products, customers=customers, rng=random.Random(1))
    orders = Order.objects.all()
    assert orders.count() == 200 and session_key
    first, last = orders.earliest("created_at").created_at, orders.latest("created_at").created_at
    assert (last - first).days > 600
    assert all(o.lines.exists() for o in orders[:20])
    assert orders.filter(status=Order.Status.PAID, paid_at__isnull=False).count() > 100
    assert not orders.filter(status=Order.Status.REFUNDED, paid_at__isnull=True).exists()
