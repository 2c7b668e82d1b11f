"""Money at the till: a cart never mixes currencies, and an order under Stripe's minimum
charge is stopped with a message before Stripe is asked (never a Stripe error)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog.factories import ProductFactory
from catalog.models import Product
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import CartItem, Order
from checkout.selectors import cart_summary
from checkout.services.cart import CartCurrencyMismatch, cart_item_add
from tests.html import one

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def priced_in(currency: str, **fields) -> Product:
    """A product stored in another currency, as one made before SHOP_CURRENCY changed
    (a product can no longer be saved so: the row is changed underneath)."""
    product = ProductFactory(**fields)
    Product.objects.filter(pk=product.pk).update(currency=currency)
    product.refresh_from_db()
    return product


# ------------------------------------------------------------ one currency per cart


def test_a_product_in_another_currency_is_never_added_to_a_cart(user):
    cart = CartFactory(user=user)
    cart_item_add(cart=cart, product_id=ProductFactory().pk, quantity=1)
    dollars = priced_in("usd", name="Dollar mug")
    with pytest.raises(CartCurrencyMismatch, match="priced in USD, and your cart is in EUR"):
        cart_item_add(cart=cart, product_id=dollars.pk, quantity=1)
    assert not CartItem.objects.filter(product=dollars).exists()


def test_adding_it_says_why_to_the_shopper_and_changes_nothing(client):
    dollars = priced_in("usd", name="Dollar mug")
    response = client.post(reverse("checkout:cart_add"), {"product": dollars.pk})
    assert response.status_code == 400
    assert (
        "Could not add Dollar mug to your cart: It is priced in USD, and your cart is in EUR"
        in response.content.decode()
    )
    assert not CartItem.objects.exists()


def test_htmx_add_of_it_answers_the_inline_error(client, htmx_headers):
    dollars = priced_in("usd")
    response = client.post(
        reverse("checkout:cart_add"), {"product": dollars.pk}, headers=htmx_headers
    )
    assert "priced in USD" in response.content.decode()
    assert not CartItem.objects.exists()


def test_a_checkout_refuses_a_line_in_another_currency(shopper_client, user, stripe_down):
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=ProductFactory(name="Euro mug"))
    CartItemFactory(cart=cart, product=priced_in("usd", name="Dollar mug"))
    response = shopper_client.post(reverse("checkout:start"))
    assert "Dollar mug: This product is not priced in the shop's currency." in messages_of(response)
    assert not Order.objects.exists()


# ------------------------------------------------------------- the minimum charge


@pytest.fixture
def sticker():
    return ProductFactory(name="Sticker", slug="sticker", unit_amount=30, stock_on_hand=50)


def test_a_cart_under_the_minimum_charge_says_so_and_cannot_check_out(
    shopper_client, user, sticker
):
    CartItemFactory(cart=CartFactory(user=user), product=sticker, quantity=1)
    html = shopper_client.get(reverse("checkout:cart")).content.decode()
    notice = one(html, testid="minimum-charge").text
    assert notice == (
        "The smallest payment we can take is €0.50; your order comes to €0.30. "
        "Add a little more to check out."
    )
    assert one(html, testid="checkout-button").get("disabled") is not None


def test_raising_the_quantity_past_the_minimum_clears_the_message(
    shopper_client, user, sticker, htmx_headers
):
    cart = CartFactory(user=user)
    item = CartItemFactory(cart=cart, product=sticker, quantity=1)
    assert not cart_summary(cart=cart).can_check_out
    response = shopper_client.post(
        reverse("checkout:cart_update", args=[item.pk]), {"quantity": "2"}, headers=htmx_headers
    )
    summary = one(response.content.decode(), id="cart-summary")
    assert summary.find_all(attrs={"data-testid": "minimum-charge"}) == []
    assert cart_summary(cart=cart).can_check_out


def test_a_checkout_under_the_minimum_is_refused_before_stripe_is_asked(
    shopper_client, user, sticker, stripe_down
):
    CartItemFactory(cart=CartFactory(user=user), product=sticker, quantity=1)
    response = shopper_client.post(reverse("checkout:start"))
    assert response["Location"] == reverse("checkout:cart")
    assert messages_of(response) == [
        "The smallest payment we can take is €0.50; your order comes to €0.30. "
        "Add a little more to check out."
    ]
    assert not Order.objects.exists()


def test_buy_now_under_the_minimum_returns_to_the_product_with_the_message(
    shopper_client, sticker, stripe_down
):
    response = shopper_client.post(
        reverse("checkout:start"), {"product": sticker.pk, "quantity": "1"}
    )
    assert response["Location"] == sticker.get_absolute_url()
    assert "The smallest payment we can take is €0.50" in messages_of(response)[0]
    assert not Order.objects.exists()


def test_the_minimum_follows_the_currency_and_the_setting(settings, user):
    settings.SHOP_CURRENCY = "jpy"
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=ProductFactory(unit_amount=40), quantity=1)
    assert "¥50" in cart_summary(cart=cart).minimum_problem
    settings.SHOP_MINIMUM_CHARGE = "100"
    assert "¥100; your order comes to ¥40" in cart_summary(cart=cart).minimum_problem
