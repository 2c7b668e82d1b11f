"""The shop's emails: HTML and plain text on one branded layout, with what each event
must say and nothing a shopper must not see."""

from datetime import UTC, datetime

import pytest
from django.core import mail

from accounts.factories import UserFactory
from catalog.alerts import low_stock_alert_send
from catalog.factories import ProductFactory
from checkout.factories import OrderFactory, OrderLineFactory
from checkout.models import Order, OrderNotification
from checkout.services.emails import order_email_build

pytestmark = pytest.mark.django_db

K = OrderNotification.Kind
SHOPPER_KINDS = [K.CONFIRMED, K.PAYMENT_FAILED, K.SHIPPED, K.REFUNDED]


@pytest.fixture(autouse=True)
def shop(settings):
    settings.SHOP_NAME = "Fieldnote Supply"
    settings.SHOP_BASE_URL = "https://shop.example.com"
    settings.SHOP_CONTACT_EMAIL = "hello@shop.example.com"
    settings.SHOP_ADDRESS = "Fieldnote Supply, 12 Harbour Road, Galway, Ireland"
    settings.DEFAULT_FROM_EMAIL = "Fieldnote Supply <orders@shop.example.com>"
    settings.ORDER_ALERT_EMAILS = ["owner@shop.example.com"]
    settings.STOCK_ALERT_EMAILS = ["buyer@shop.example.com"]


@pytest.fixture
def order(db):
    order = OrderFactory(
        email="ada@example.com",
        amount_total=2 * 1800 + 3400,
        status=Order.Status.PAID,
        paid_at=datetime(2026, 7, 1, 9, 30, tzinfo=UTC),
    )
    mug = ProductFactory(name="Enamel mug", unit_amount=1800)
    apron = ProductFactory(name="Linen apron", unit_amount=3400)
    OrderLineFactory(order=order, product=mug, quantity=2)
    OrderLineFactory(order=order, product=apron, quantity=1)
    return order


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


@pytest.mark.parametrize("kind", [*SHOPPER_KINDS, K.STAFF_NEW_ORDER])
def test_every_order_email_has_text_and_html_on_the_shops_layout(order, kind):
    message = order_email_build(order=order, kind=kind)
    html = html_of(message)

    assert message.subject.startswith("[Fieldnote Supply] ")
    assert f"#{order.pk}" in message.subject
    assert message.from_email == "Fieldnote Supply <orders@shop.example.com>"
    assert message.reply_to == ["hello@shop.example.com"]
    for body in (message.body, html):
        assert "Fieldnote Supply" in body
        assert "hello@shop.example.com" in body
        assert "https://shop.example.com/contact/" in body
        assert "12 Harbour Road" in body
        assert "Enamel mug" in body
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "{%" not in html and "{{" not in html and "{{" not in message.body


@pytest.mark.parametrize("kind", SHOPPER_KINDS)
def test_shopper_emails_go_to_the_shopper_and_link_to_their_order(order, kind):
    message = order_email_build(order=order, kind=kind)
    assert message.to == ["ada@example.com"]
    link = f"https://shop.example.com/orders/{order.pk}/"
    assert link in message.body and f'href="{link}"' in html_of(message)


def test_confirmation_lists_items_and_totals(order):
    message = order_email_build(order=order, kind=K.CONFIRMED)
    assert message.subject == f"[Fieldnote Supply] Order #{order.pk} is confirmed"
    assert "2 × Enamel mug  €36.00" in message.body
    assert "1 × Linen apron  €34.00" in message.body
    assert "Total: €70.00" in message.body
    assert "€70.00" in html_of(message)


def test_confirmation_shows_the_shipping_address_when_there_is_one(order):
    order.shipping_name = "Ada Lovelace"
    order.shipping_address = {
        "line1": "1 Quay Street",
        "line2": "",
        "postal_code": "H91 AB12",
        "city": "Galway",
        "state": "",
        "country": "IE",
    }
    order.save()
    message = order_email_build(order=order, kind=K.CONFIRMED)
    for body in (message.body, html_of(message)):
        assert "Shipping to" in body
        assert "Ada Lovelace" in body and "1 Quay Street" in body and "H91 AB12 Galway" in body


def test_confirmation_without_a_shipping_address_leaves_the_block_out(order):
    message = order_email_build(order=order, kind=K.CONFIRMED)
    assert "Shipping to" not in message.body and "Shipping to" not in html_of(message)


def test_payment_failed_says_no_money_was_taken_and_points_to_the_cart(order):
    message = order_email_build(order=order, kind=K.PAYMENT_FAILED)
    assert "did not go through" in message.subject
    assert "No money was taken" in message.body
    assert "https://shop.example.com/cart/" in message.body


def test_shipped_email_gives_carrier_and_tracking(order):
    order.carrier = "An Post"
    order.tracking_number = "CE123456789IE"
    order.tracking_url = "https://track.example.com/CE123456789IE"
    order.shipped_at = datetime(2026, 7, 2, 23, 30, tzinfo=UTC)  # 3 July in Dublin
    order.save()
    message = order_email_build(order=order, kind=K.SHIPPED)
    html = html_of(message)
    assert message.subject == f"[Fieldnote Supply] Order #{order.pk} is on its way"
    for body in (message.body, html):
        assert "An Post" in body and "CE123456789IE" in body
        assert "3 July 2026" in body  # the shop's time zone, not UTC's 2 July
    assert 'href="https://track.example.com/CE123456789IE"' in html


def test_shipped_email_without_tracking_says_so_plainly(order):
    message = order_email_build(order=order, kind=K.SHIPPED)
    assert "on its way" in message.body
    assert "Tracking number" not in message.body
    assert "Track your parcel" not in html_of(message)


def test_refund_email_gives_the_reason_staff_wrote_and_never_who_asked(order):
    staff = UserFactory(email="refund.clerk@shop.example.com", is_staff=True)
    order.status = Order.Status.REFUNDED
    order.refund_reason = "The lantern arrived cracked; sorry"
    order.refund_requested_by = staff
    order.save()
    message = order_email_build(order=order, kind=K.REFUNDED)
    html = html_of(message)
    assert message.subject == f"[Fieldnote Supply] Order #{order.pk} is refunded"
    assert "Reason: The lantern arrived cracked; sorry" in message.body
    assert "The lantern arrived cracked; sorry" in html
    assert "€70.00" in message.body


@pytest.mark.parametrize("kind", [*SHOPPER_KINDS, K.STAFF_NEW_ORDER])
def test_no_email_reveals_a_staff_identity(order, kind):
    staff = UserFactory(email="refund.clerk@shop.example.com", is_staff=True)
    order.refund_reason = "Damaged in transit"
    order.refund_requested_by = staff
    order.review_reason = "internal note by refund.clerk"
    order.save()
    message = order_email_build(order=order, kind=kind)
    for body in (message.subject, message.body, html_of(message)):
        assert "refund.clerk" not in body
    assert not set(message.to) & {staff.email}


def test_staff_new_order_email_goes_to_staff_with_the_admin_link(order):
    message = order_email_build(order=order, kind=K.STAFF_NEW_ORDER)
    assert message.to == ["owner@shop.example.com"]
    assert message.subject == f"[Fieldnote Supply] New order #{order.pk}: €70.00"
    assert "ada@example.com paid €70.00" in message.body
    assert "1 July 2026, 10:30 IST" in message.body  # 09:30 UTC in the shop's time zone
    assert f"https://shop.example.com/admin/checkout/order/{order.pk}/change/" in message.body


def test_html_escapes_what_people_typed(order):
    order.refund_reason = "<script>alert(1)</script>"
    order.save()
    html = html_of(order_email_build(order=order, kind=K.REFUNDED))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_low_stock_email_is_on_the_same_layout():
    mug = ProductFactory(name="Enamel mug", stock_on_hand=3, reorder_level=3)
    lamp = ProductFactory(name="Brass lamp", stock_on_hand=0, reorder_level=2)
    low_stock_alert_send(product_ids=[mug.pk, lamp.pk])
    [message] = mail.outbox
    html = html_of(message)
    assert message.to == ["buyer@shop.example.com"]
    assert message.subject == "[Fieldnote Supply] Low stock: Brass lamp, Enamel mug"
    assert "- Enamel mug: 3 on hand (reorder level 3)" in message.body
    assert "- Brass lamp: 0 on hand (reorder level 2)" in message.body
    assert f"https://shop.example.com/admin/catalog/product/{mug.pk}/change/" in html
    for body in (message.body, html):
        assert "hello@shop.example.com" in body and "12 Harbour Road" in body
