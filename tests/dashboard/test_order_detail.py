import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checkout.models import Order
from tests.html import one

Status = Order.Status


def detail_url(order: Order) -> str:
    return reverse("dashboard:order_detail", kwargs={"pk": order.pk})


def timeline_steps(html: str) -> list[str]:
    timeline = re.search(r'data-testid="timeline">(.*?)</ol>', html, re.S).group(1)
    return re.findall(r'data-step="(\w+)"', timeline)


def test_order_page_lists_lines_with_prices_quantities_and_totals(shopper_client, make_order):
    order = make_order(lines=[("Linen apron", 2400, 2), ("Enamel mug", 1250, 1)])

    response = shopper_client.get(detail_url(order))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Order #{order.pk}" in html
    rows = re.findall(r'<tr data-testid="order-line">(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    apron = " ".join(re.sub(r"<[^>]+>", " ", rows[0]).split())
    assert apron.startswith("Linen apron")
    assert "€24.00" in apron  # unit price
    assert " 2 " in apron  # quantity
    assert apron.endswith("€48.00")  # line total
    total = re.search(r'data-testid="order-total">(.*?)<', html).group(1)
    assert total == "€60.50"


def test_another_shoppers_order_is_not_found(shopper_client, make_order, other_user):
    theirs = make_order(owner=other_user)

    assert shopper_client.get(detail_url(theirs)).status_code == 404


def test_a_missing_order_is_not_found(shopper_client):
    assert (
        shopper_client.get(reverse("dashboard:order_detail", kwargs={"pk": 999})).status_code == 404
    )


def test_timeline_shows_only_the_steps_that_happened_in_order(shopper_client, make_order):
    now = timezone.now()
    order = make_order(
        Status.REFUNDED,
        created_ago=timedelta(hours=3),
        processing_at=now - timedelta(hours=2),
        paid_at=now - timedelta(hours=1),
        refunded_at=now,
        refund_reason="Sold out while you were paying",
    )

    html = shopper_client.get(detail_url(order)).content.decode()

    assert timeline_steps(html) == ["created", "processing", "paid", "refunded"]
    assert "Reason: Sold out while you were paying" in html
    assert order.paid_at.strftime("%-d %b %Y, %H:%M") in html


def test_refund_reason_sits_on_the_refund_request_when_there_was_one(shopper_client, make_order):
    now = timezone.now()
    order = make_order(
        Status.REFUNDED,
        created_ago=timedelta(hours=1),
        refunding_at=now - timedelta(minutes=5),
        refunded_at=now,
        refund_reason="Out of stock",
    )

    html = shopper_client.get(detail_url(order)).content.decode()

    assert timeline_steps(html) == ["created", "refunding", "refunded"]
    assert html.count("Reason: Out of stock") == 1
    assert html.index("Refund requested") < html.index("Reason: Out of stock")
    assert html.index("Reason: Out of stock") < html.index(">Refunded</p>")


def test_canceled_order_shows_the_cancel_reason(shopper_client, make_order):
    order = make_order(
        Status.CANCELED, canceled_at=timezone.now(), cancel_reason="Checkout expired"
    )

    html = shopper_client.get(detail_url(order)).content.decode()

    assert timeline_steps(html) == ["created", "canceled"]
    assert "Reason: Checkout expired" in html


def test_payment_reference_is_shown_when_there_is_one(shopper_client, make_order):
    with_reference = make_order(stripe_payment_intent_id="pi_3Ndemo123")
    without = make_order(Status.CANCELED)

    assert "pi_3Ndemo123" in shopper_client.get(detail_url(with_reference)).content.decode()
    assert "Payment reference" not in shopper_client.get(detail_url(without)).content.decode()


def test_order_being_confirmed_shows_the_live_status(shopper_client, make_order):
    order = make_order(Status.PENDING)

    html = shopper_client.get(detail_url(order)).content.decode()

    status_url = reverse("dashboard:order_status", kwargs={"pk": order.pk})
    assert f'hx-get="{status_url}?shown=pending&amp;layout=detail"' in html
    assert 'hx-trigger="every 2s, shop:visible from:document"' in html
    assert "data-poll" in html
    # The checkout is still open: the shopper can go back to pay.
    assert 'href="https://checkout.stripe.com/c/pay/cs_test"' in html


def test_final_order_page_does_not_poll(shopper_client, make_order):
    order = make_order(Status.PAID, paid_at=timezone.now())

    html = shopper_client.get(detail_url(order)).content.decode()

    assert "hx-trigger" not in html
    assert "data-poll" not in html
    status = one(html, id=f"order-status-{order.pk}")
    assert "badge-green" in status.one(text="Paid").classes


def test_status_sits_in_a_polite_live_region(shopper_client, make_order):
    order = make_order(Status.PROCESSING)

    html = shopper_client.get(detail_url(order)).content.decode()

    region = re.search(r'<div role="status"\s+aria-live="polite"[^>]*>\s*<div id="([\w-]+)"', html)
    assert region is not None
    assert region.group(1) == f"order-status-{order.pk}"


def test_order_page_leads_back_to_the_shop_and_the_order_list(shopper_client, make_order):
    html = shopper_client.get(detail_url(make_order())).content.decode()

    assert re.search(rf'href="{reverse("catalog:index")}"[^>]*>Continue shopping<', html)
    assert f'href="{reverse("dashboard:orders")}"' in html


@pytest.mark.parametrize("count", [1, 10])
def test_order_page_runs_a_fixed_number_of_queries(
    shopper_client, make_order, django_assert_num_queries, count
):
    order = make_order(lines=[(f"Thing {n}", 100, 1) for n in range(count)])

    # session, user, order, its lines, header cart count
    with django_assert_num_queries(5):
        shopper_client.get(detail_url(order))
