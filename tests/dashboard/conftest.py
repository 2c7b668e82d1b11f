from datetime import timedelta

import pytest
from django.utils import timezone

from checkout.factories import OrderFactory, OrderLineFactory
from checkout.models import Order


@pytest.fixture
def make_order(user):
    """make_order(status, lines=[(name, unit_amount, quantity)], created_ago=..., **fields).

    Totals come from the lines. `created_ago` backdates created_at (auto_now_add)."""

    def make(
        status: str = Order.Status.PAID,
        *,
        lines=(("Linen apron", 2400, 1),),
        created_ago: timedelta | None = None,
        owner=None,
        **fields,
    ) -> Order:
        if status == Order.Status.PENDING and "checkout_expires_at" not in fields:
            fields.setdefault("stripe_checkout_url", "https://checkout.stripe.com/c/pay/cs_test")
            fields["checkout_expires_at"] = timezone.now() + timedelta(minutes=30)
        order = OrderFactory(
            user=owner or user,
            status=status,
            amount_total=sum(unit * quantity for _, unit, quantity in lines),
            **fields,
        )
        for name, unit, quantity in lines:
            OrderLineFactory(order=order, name=name, unit_amount=unit, quantity=quantity)
        if created_ago is not None:
            Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - created_ago)
            order.refresh_from_db()
        return order

    return make
