from datetime import timedelta

import pytest
from django.utils import timezone

from checkout.models import Order, OrderLine
from dashboard.selectors import order_timeline
from dashboard.templatetags.order_tags import line_summary


def lines(*items: tuple[str, int]) -> list[OrderLine]:
    return [OrderLine(name=name, unit_amount=100, quantity=quantity) for name, quantity in items]


@pytest.mark.parametrize(
    ("items", "summary"),
    [
        ((), ""),
        ((("Linen apron", 1),), "Linen apron"),
        ((("Linen apron", 2),), "Linen apron × 2"),
        ((("Linen apron", 2), ("Enamel mug", 1)), "Linen apron × 2 and Enamel mug"),
        (
            (("Linen apron", 2), ("Enamel mug", 1), ("Socks", 3)),
            "Linen apron × 2, Enamel mug and Socks × 3",
        ),
        (
            (("Linen apron", 2), ("Enamel mug", 1), ("Socks", 1), ("Pen", 1), ("Ink", 1)),
            "Linen apron × 2, Enamel mug and 3 more",
        ),
    ],
)
def test_item_summary_names_a_few_lines_and_counts_the_rest(items, summary):
    assert line_summary(lines(*items)) == summary


def test_timeline_of_a_fresh_order_is_just_its_creation():
    order = Order(created_at=timezone.now())

    assert [step.key for step in order_timeline(order=order)] == ["created"]


def test_timeline_keeps_lifecycle_order_when_steps_share_an_instant():
    now = timezone.now()
    order = Order(
        status=Order.Status.REFUNDING,
        created_at=now - timedelta(minutes=1),
        paid_at=now,
        refunding_at=now,
        refund_reason="Damaged in the warehouse",
    )

    steps = order_timeline(order=order)

    assert [step.key for step in steps] == ["created", "paid", "refunding"]
    assert steps[-1].note == "Damaged in the warehouse"
