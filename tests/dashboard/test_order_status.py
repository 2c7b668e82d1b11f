import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from checkout.models import Order

Status = Order.Status
POLL_TRIGGER = 'hx-trigger="every 2s, shop:visible from:document"'


def status_url(order: Order, **params: str) -> str:
    url = reverse("dashboard:order_status", kwargs={"pk": order.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def flip(order: Order, status: str = Status.PAID) -> None:
    """What the webhook does, as far as the dashboard can tell."""
    Order.objects.filter(pk=order.pk).update(status=status, paid_at=timezone.now())


def toasts(html: str) -> str:
    match = re.search(r'<div id="toasts"\s+hx-swap-oob="beforeend"\s*>(.*?)</div>\s*$', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("status", [Status.PENDING, Status.PROCESSING, Status.REFUNDING])
def test_fragment_of_an_order_not_yet_final_polls(shopper_client, make_order, status):
    order = make_order(status)

    html = render_to_string("dashboard/_order_status.html", {"order": order})

    assert f'hx-get="{status_url(order)}?shown={status}"' in html
    assert POLL_TRIGGER in html
    assert 'hx-target="this"' in html
    assert 'hx-swap="outerHTML"' in html
    assert "data-poll" in html


@pytest.mark.parametrize("status", [Status.PAID, Status.REFUNDED, Status.CANCELED])
def test_fragment_of_a_final_order_carries_no_trigger(
    shopper_client, make_order, htmx_headers, status
):
    order = make_order(Status.PROCESSING)
    flip(order, status)

    response = shopper_client.get(status_url(order, shown="processing"), headers=htmx_headers)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="order-status-{order.pk}"' in html
    assert "hx-trigger" not in html
    assert "hx-get" not in html
    assert "data-poll" not in html


def test_refunding_order_keeps_polling_until_refunded(shopper_client, make_order, htmx_headers):
    order = make_order(Status.PAID)
    flip(order, Status.REFUNDING)

    response = shopper_client.get(status_url(order, shown="paid"), headers=htmx_headers)

    assert POLL_TRIGGER in response.content.decode()
    assert "Refund in progress" in response.content.decode()


def test_poll_answers_no_content_while_the_status_is_unchanged(
    shopper_client, make_order, htmx_headers
):
    order = make_order(Status.PENDING)

    response = shopper_client.get(status_url(order, shown="pending"), headers=htmx_headers)

    # htmx swaps nothing on 204: the poller stays and screen readers hear nothing new.
    assert response.status_code == 204
    assert response.content == b""


def test_flip_to_paid_answers_the_paid_badge_with_a_payment_confirmed_toast(
    shopper_client, make_order, htmx_headers
):
    order = make_order(Status.PENDING)
    flip(order)

    response = shopper_client.get(status_url(order, shown="pending"), headers=htmx_headers)

    html = response.content.decode()
    assert "Paid" in html
    assert "Payment confirmed" in toasts(html)
    assert "data-toast" in toasts(html)


def test_flip_from_processing_to_paid_toasts_too(shopper_client, make_order, htmx_headers):
    order = make_order(Status.PROCESSING)
    flip(order)

    response = shopper_client.get(status_url(order, shown="processing"), headers=htmx_headers)

    assert "Payment confirmed" in toasts(response.content.decode())


@pytest.mark.parametrize("status", [Status.CANCELED, Status.REFUNDED])
def test_other_final_statuses_do_not_say_payment_confirmed(
    shopper_client, make_order, htmx_headers, status
):
    order = make_order(Status.PENDING)
    flip(order, status)

    response = shopper_client.get(status_url(order, shown="pending"), headers=htmx_headers)

    assert toasts(response.content.decode()) == ""


def test_plain_get_of_a_paid_order_shows_its_status_without_a_toast(shopper_client, make_order):
    order = make_order(Status.PAID)

    response = shopper_client.get(status_url(order))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert f'id="order-status-{order.pk}"' in html
    assert "data-toast" not in html
    # Nothing was queued for a later page either.
    assert "data-toast" not in shopper_client.get(reverse("dashboard:orders")).content.decode()


def test_plain_get_of_an_order_being_confirmed_shows_a_live_page(shopper_client, make_order):
    order = make_order(Status.PROCESSING)

    response = shopper_client.get(status_url(order, shown="processing"))

    assert response.status_code == 200
    assert POLL_TRIGGER in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_status_of_another_shoppers_order_is_not_found(
    shopper_client, make_order, other_user, htmx_headers, htmx
):
    theirs = make_order(Status.PENDING, owner=other_user)
    flip(theirs)

    response = shopper_client.get(
        status_url(theirs, shown="pending"), headers=htmx_headers if htmx else {}
    )

    assert response.status_code == 404
    assert "Payment confirmed" not in response.content.decode()


def test_detail_layout_flip_also_refreshes_the_timeline(shopper_client, make_order, htmx_headers):
    order = make_order(Status.PENDING)
    Order.objects.filter(pk=order.pk).update(
        status=Status.PAID, paid_at=timezone.now(), stripe_payment_intent_id="pi_3Nflip"
    )

    response = shopper_client.get(
        status_url(order, shown="pending", layout="detail"), headers=htmx_headers
    )

    html = response.content.decode()
    assert re.search(rf'<section id="order-progress-{order.pk}"\s+hx-swap-oob="true"', html)
    assert 'data-step="paid"' in html
    assert "pi_3Nflip" in html
    assert "Complete payment" not in html


def test_compact_layout_answers_just_the_badge(shopper_client, make_order, htmx_headers):
    order = make_order(Status.PENDING)
    flip(order)

    response = shopper_client.get(
        status_url(order, shown="pending", layout="compact"), headers=htmx_headers
    )

    html = response.content.decode()
    assert "order-progress" not in html
    assert "Thank you for your order" not in html.split('<div id="toasts"')[0]


def test_unknown_layout_is_ignored(shopper_client, make_order, htmx_headers):
    order = make_order(Status.PROCESSING)
    flip(order, Status.REFUNDING)

    response = shopper_client.get(
        status_url(order, shown="processing", layout="<script>"), headers=htmx_headers
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "layout=" not in html
    assert "<script>" not in html


def test_status_is_never_cached_and_varies_on_htmx(shopper_client, make_order):
    response = shopper_client.get(status_url(make_order(Status.PENDING)))

    assert "no-cache" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]


def test_status_answers_get_only(shopper_client, make_order):
    assert shopper_client.post(status_url(make_order())).status_code == 405


def test_fragment_include_needs_only_the_order_and_no_query(make_order, django_assert_num_queries):
    """The contract with the checkout success page:
    {% include "dashboard/_order_status.html" with order=order %}."""
    order = make_order(Status.PENDING)

    with django_assert_num_queries(0):
        html = render_to_string("dashboard/_order_status.html", {"order": order})

    assert 'role="status"' in html
    assert 'aria-live="polite"' in html
    assert "layout=" not in html
    assert "Complete payment" not in html
