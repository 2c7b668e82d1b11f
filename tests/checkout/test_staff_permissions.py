"""Staff get what their permissions allow, no more; shoppers never see who they are."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.urls import reverse

from accounts.factories import UserFactory
from accounts.groups import FULFILMENT, SHOP_MANAGERS
from checkout.models import Order, StripeEvent
from tests.tasks import tasks_run

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:checkout_order_changelist")


def paid(checkout, stripe, client) -> Order:
    order = checkout()
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def staff_client(client, *codenames: str):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *(
            Permission.objects.get(content_type__app_label=label, codename=name)
            for label, name in (c.split(".") for c in codenames)
        )
    )
    client.force_login(staff)
    return client


@pytest.mark.parametrize("action", ["refund", "refund_and_restock", "mark_reviewed"])
def test_view_only_staff_cannot_refund_or_mark_reviewed(checkout, stripe, client, action):
    order = paid(checkout, stripe, client)
    Order.objects.filter(pk=order.pk).update(needs_review=True)
    viewer = staff_client(client, "checkout.view_order")
    page = viewer.get(ORDERS)
    assert page.status_code == 200
    assert f'value="{action}"'.encode() not in page.content  # not offered
    response = viewer.post(
        ORDERS,
        {"action": action, "_selected_action": [order.pk], "confirm": "yes", "reason": "x"},
    )
    assert response.status_code in (200, 302, 403)  # an action not offered is refused
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.needs_review


def test_staff_who_may_change_orders_but_not_refund_cannot_refund(checkout, stripe, client):
    order = paid(checkout, stripe, client)
    editor = staff_client(client, "checkout.view_order", "checkout.change_order")
    page = editor.get(ORDERS).content
    assert b'value="mark_reviewed"' in page and b'value="refund"' not in page
    editor.post(
        ORDERS,
        {"action": "refund", "_selected_action": [order.pk], "confirm": "yes", "reason": "x"},
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_the_refund_permission_offers_refunds(checkout, stripe, client):
    paid(checkout, stripe, client)
    refunder = staff_client(client, "checkout.view_order", "checkout.refund_order")
    page = refunder.get(ORDERS).content
    assert b'value="refund"' in page and b'value="refund_and_restock"' in page


def test_the_event_log_needs_its_own_permissions(checkout, stripe, client):
    paid(checkout, stripe, client)
    event = StripeEvent.objects.first()
    changelist = reverse("admin:checkout_stripeevent_changelist")
    detail = reverse("admin:checkout_stripeevent_change", args=[event.pk])
    order_viewer = staff_client(client, "checkout.view_order")
    assert order_viewer.get(changelist).status_code == 403
    assert order_viewer.get(detail).status_code == 403

    reader = staff_client(client, "checkout.view_stripeevent")
    assert reader.get(detail).status_code == 200
    page = reader.get(changelist)
    assert page.status_code == 200 and b'value="reprocess"' not in page.content
    StripeEvent.objects.filter(pk=event.pk).update(processed_at=None)
    reader.post(changelist, {"action": "reprocess", "_selected_action": [event.pk]})
    assert StripeEvent.objects.get(pk=event.pk).processed_at is None  # not run

    changer = staff_client(client, "checkout.view_stripeevent", "checkout.change_stripeevent")
    changer.post(changelist, {"action": "reprocess", "_selected_action": [event.pk]})
    assert StripeEvent.objects.get(pk=event.pk).processed_at is not None


def test_the_staff_groups_exist_with_their_permissions():
    """On the test database, built by migrate like a fresh one."""
    managers = Group.objects.get(name=SHOP_MANAGERS)
    fulfilment = Group.objects.get(name=FULFILMENT)
    manager_perms = {f"{p.content_type.app_label}.{p.codename}" for p in managers.permissions.all()}
    assert {
        "checkout.refund_order",
        "checkout.change_order",
        "catalog.receive_stock",
        "catalog.count_stock",
        "catalog.write_off_stock",
        "checkout.change_stripeevent",
    } <= manager_perms
    fulfilment_perms = {
        f"{p.content_type.app_label}.{p.codename}" for p in fulfilment.permissions.all()
    }
    assert "checkout.view_order" in fulfilment_perms
    assert not fulfilment_perms & {
        "checkout.refund_order",
        "catalog.count_stock",
        "catalog.receive_stock",
        "catalog.write_off_stock",
        "checkout.view_stripeevent",
    }


def test_a_fulfilment_member_sees_orders_but_cannot_refund(checkout, stripe, client):
    order = paid(checkout, stripe, client)
    member = UserFactory(is_staff=True)
    member.groups.add(Group.objects.get(name=FULFILMENT))
    client.force_login(member)
    page = client.get(ORDERS)
    assert page.status_code == 200 and f"Order #{order.pk}".encode() in page.content
    assert b'value="refund"' not in page.content
    product_id = order.lines.first().product_id
    count = reverse("admin:catalog_product_stock", args=[product_id, "count"])
    assert client.get(count).status_code == 403
    product_page = client.get(reverse("admin:catalog_product_change", args=[product_id]))
    assert product_page.status_code == 200
    assert b"Stock count" not in product_page.content  # not offered either


def test_the_shopper_reads_the_reason_staff_wrote_never_who_refunded(
    admin_user,
    admin_client,
    checkout,
    stripe,
    client,
    shopper_client,
    django_capture_on_commit_callbacks,
):
    order = paid(checkout, stripe, client)
    shopper_cookie = shopper_client.cookies  # the shopper stays signed in
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            ORDERS,
            {
                "action": "refund",
                "_selected_action": [order.pk],
                "confirm": "yes",
                "reason": "The lantern arrived cracked; sorry",
            },
        )
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.refund_requested_by == admin_user
    client.cookies = shopper_cookie
    for url in (reverse("dashboard:order_detail", args=[order.pk]), reverse("dashboard:orders")):
        html = client.get(url).content.decode()
        assert admin_user.email not in html
    detail = client.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert "The lantern arrived cracked; sorry" in detail
    tasks_run()  # the worker sends the emails the payment and the refund queued
    assert any(order.email in message.to for message in mail.outbox)
    for message in mail.outbox:
        if order.email in message.to:
            assert admin_user.email not in message.body
