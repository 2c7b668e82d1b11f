"""POST /checkout/: holding stock and opening a Stripe Checkout Session."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from catalog.factories import ProductFactory
from catalog.models import StockReservation
from checkout.factories import CartItemFactory
from checkout.models import Order
from tests.stock import stock_set

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_anonymous_checkout_goes_to_login_and_back_to_the_cart(client):
    response = client.post(reverse("checkout:start"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=/cart/" in response["Location"]


def test_anonymous_htmx_checkout_gets_a_client_redirect_to_login(client, htmx_headers):
    response = client.post(reverse("checkout:start"), headers=htmx_headers)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("account_login"))


def test_a_get_of_checkout_changes_nothing_and_leads_to_the_cart(shopper_client, cart):
    response = shopper_client.get(reverse("checkout:start"))
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:cart")
    assert not Order.objects.exists()
    assert shopper_client.put(reverse("checkout:start")).status_code == 405


def test_empty_cart_creates_no_order(shopper_client, stripe):
    response = shopper_client.post(reverse("checkout:start"))
    assert response["Location"] == reverse("checkout:cart")
    assert "Your cart is empty." in messages_of(response)
    assert not Order.objects.exists()


def test_checkout_holds_stock_and_redirects_to_the_stripe_session(
    shopper_client, user, cart, mug, apron, stripe
):
    response = shopper_client.post(reverse("checkout:start"))

    order = Order.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == order.stripe_checkout_url
    assert order.stripe_checkout_url.startswith(stripe.base_url)
    assert order.status == Order.Status.PENDING
    assert order.amount_total == 2 * 1800 + 3400
    assert [(line.name, line.unit_amount, line.quantity) for line in order.lines.all()] == [
        ("Enamel mug", 1800, 2),
        ("Linen apron", 3400, 1),
    ]
    holds = {r.product_id: r for r in order.reservations.all()}
    assert {pid: r.quantity for pid, r in holds.items()} == {mug.pk: 2, apron.pk: 1}
    assert all(r.status == StockReservation.Status.ACTIVE for r in holds.values())
    hold_minutes = (holds[mug.pk].expires_at - timezone.now()) / timedelta(minutes=1)
    assert 35 <= hold_minutes <= 37  # the session's 30 (+1) minutes and a grace period

    session = stripe.session(order.stripe_session_id)
    assert session["client_reference_id"] == str(order.pk)
    assert session["metadata"] == {"order_id": str(order.pk)}
    assert session["customer_email"] == user.email
    assert session["amount_total"] == order.amount_total
    assert session["expires_at"] - int(timezone.now().timestamp()) >= 30 * 60
    assert session["success_url"].endswith("/checkout/success/?session_id={CHECKOUT_SESSION_ID}")


def test_stock_on_hand_is_untouched_until_payment(shopper_client, cart, mug, stripe):
    shopper_client.post(reverse("checkout:start"))
    mug.refresh_from_db()
    assert mug.stock_on_hand == 5
    assert type(mug).objects.with_availability().get(pk=mug.pk).available == 3


def test_htmx_checkout_answers_a_client_redirect_to_stripe(
    shopper_client, cart, stripe, htmx_headers
):
    response = shopper_client.post(reverse("checkout:start"), headers=htmx_headers)
    order = Order.objects.get()
    assert response["HX-Redirect"] == order.stripe_checkout_url


def test_not_enough_stock_creates_nothing_and_says_what(shopper_client, cart, apron, stripe):
    stock_set(apron, 0)
    response = shopper_client.post(reverse("checkout:start"))
    assert response["Location"] == reverse("checkout:cart")
    assert "Linen apron: Sold out." in messages_of(response)
    assert not Order.objects.exists()
    assert not StockReservation.objects.exists()


def test_units_held_by_another_checkout_are_not_available(
    shopper_client, cart, apron, other_user, stripe
):
    from checkout.factories import OrderFactory, StockReservationFactory

    StockReservationFactory(product=apron, quantity=3, order=OrderFactory(user=other_user))
    response = shopper_client.post(reverse("checkout:start"))
    assert "Linen apron: Sold out." in messages_of(response)
    assert Order.objects.filter(user=cart.user).count() == 0


def test_an_unchanged_cart_reuses_its_open_session(shopper_client, cart, stripe):
    first = shopper_client.post(reverse("checkout:start"))["Location"]
    second = shopper_client.post(reverse("checkout:start"))["Location"]
    assert first == second
    assert Order.objects.count() == 1
    assert StockReservation.objects.count() == 2


def test_a_changed_cart_expires_the_old_session_and_releases_its_hold(
    shopper_client, cart, mug, stripe
):
    shopper_client.post(reverse("checkout:start"))
    old = Order.objects.get()
    cart.items.filter(product=mug).update(quantity=1)

    shopper_client.post(reverse("checkout:start"))

    old.refresh_from_db()
    assert old.status == Order.Status.CANCELED
    assert stripe.session(old.stripe_session_id)["status"] == "expired"
    assert set(old.reservations.values_list("status", flat=True)) == {"released"}
    new = Order.objects.exclude(pk=old.pk).get()
    assert new.status == Order.Status.PENDING
    assert new.lines.get(product=mug).quantity == 1


def test_stripe_unreachable_cancels_the_order_and_releases_the_hold(
    shopper_client, cart, stripe_down
):
    response = shopper_client.post(reverse("checkout:start"))
    assert response["Location"] == reverse("checkout:cart")
    assert any("Payments are slow right now" in m for m in messages_of(response))
    order = Order.objects.get()
    assert order.status == Order.Status.CANCELED
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}


def test_buy_now_checks_out_one_product_without_the_cart(shopper_client, cart, apron, stripe):
    response = shopper_client.post(
        reverse("checkout:start"), {"product": apron.pk, "quantity": "2"}
    )
    order = Order.objects.get()
    assert response["Location"] == order.stripe_checkout_url
    assert not order.from_cart
    assert [(line.name, line.quantity) for line in order.lines.all()] == [("Linen apron", 2)]


def test_buy_now_by_an_anonymous_shopper_returns_to_the_product_after_login(client, apron):
    response = client.post(reverse("checkout:start"), {"product": apron.pk, "quantity": "1"})
    assert response["Location"].startswith(reverse("account_login"))
    assert f"next=/products/{apron.slug}/" in response["Location"]


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "abc", "", "1000000000000"])
def test_buy_now_with_a_bad_quantity_changes_nothing(shopper_client, apron, stripe, quantity):
    response = shopper_client.post(
        reverse("checkout:start"), {"product": apron.pk, "quantity": quantity}
    )
    assert response.status_code == 302
    assert response["Location"] == apron.get_absolute_url()
    assert any(
        m in messages_of(response)
        for m in ("Choose a whole number of at least 1.", "Linen apron: At most 10 per order.")
    )
    assert not Order.objects.exists()
    assert not StockReservation.objects.exists()


def test_buy_now_of_an_inactive_or_unknown_product_is_404(shopper_client, stripe):
    hidden = ProductFactory(is_active=False)
    assert shopper_client.post(reverse("checkout:start"), {"product": hidden.pk}).status_code == 404
    assert shopper_client.post(reverse("checkout:start"), {"product": 999999}).status_code == 404
    assert shopper_client.post(reverse("checkout:start"), {"product": "x"}).status_code == 404
    assert not Order.objects.exists()


def test_more_than_the_per_product_cap_is_refused(shopper_client, user, stripe, settings):
    settings.CART_MAX_QUANTITY = 3
    big = ProductFactory(stock_on_hand=50)
    CartItemFactory(cart__user=user, product=big, quantity=4)
    response = shopper_client.post(reverse("checkout:start"))
    assert any("At most 3 per order." in m for m in messages_of(response))
    assert not Order.objects.exists()


def test_a_product_taken_off_sale_is_refused_at_checkout(shopper_client, cart, mug, stripe):
    type(mug).objects.filter(pk=mug.pk).update(is_active=False)
    response = shopper_client.post(reverse("checkout:start"))
    assert "Enamel mug: This product is no longer sold." in messages_of(response)
    assert not Order.objects.exists()
