"""Moving the stock models into catalog keeps every live hold, and the ledger opens with
the stock that was there."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("catalog", "0001_initial"), ("checkout", "0001_initial")]


def test_holds_survive_the_move_and_stock_gets_an_opening_balance(django_user_model):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Product = old.get_model("catalog", "Product")
    Order = old.get_model("checkout", "Order")
    OldHold = old.get_model("checkout", "StockReservation")
    User = old.get_model("accounts", "User")
    shopper = User.objects.create(email="old@example.com", password="!")
    lamp = Product.objects.create(name="Lamp", slug="lamp", unit_amount=900, stock_on_hand=4)
    Product.objects.create(name="Empty", slug="empty", unit_amount=900, stock_on_hand=0)
    order = Order.objects.create(
        user=shopper, email=shopper.email, currency="eur", amount_total=900
    )
    OldHold.objects.create(
        product=lamp, order=order, quantity=1, expires_at=timezone.now() + timedelta(minutes=30)
    )

    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    new = executor.loader.project_state(latest).apps
    Hold = new.get_model("catalog", "StockReservation")
    assert Hold._meta.db_table == "checkout_stockreservation"
    hold = Hold.objects.get()
    assert (hold.product_id, hold.order_id, hold.status) == (lamp.pk, order.pk, "active")
    Movement = new.get_model("catalog", "StockMovement")
    assert list(Movement.objects.values_list("product_id", "delta", "reason")) == [
        (lamp.pk, 4, "opening")
    ]
