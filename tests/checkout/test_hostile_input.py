"""Hostile ids, quantities and session ids: every endpoint that takes one answers 4xx or
a message, never 500, and changes nothing (theme.params: ASCII digits of bounded length).
"""

import pytest
from django.urls import reverse

from catalog.models import StockReservation
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import CartItem, Order
from theme.params import (
    IdConverter,
    NotANumber,
    NumberTooLong,
    id_parse,
    ids_parse,
    number_parse,
)

pytestmark = pytest.mark.django_db

HOSTILE = [
    "²",  # str.isdigit() says yes, int() says no
    "١٢",  # Arabic-Indic digits: isdigit() and int() both accept them
    "9" * 5000,  # longer than int() converts (4,300 digits)
    "9" * 19,  # digits, but past a 64-bit primary key
    "-1",
    "1.5",
    "1e3",
    " ",
    "0x10",
    "1\x00",
    "abc",
]


@pytest.fixture
def quiet_client(client):
    """A test client that answers a 500 instead of raising, so a test sees the status."""
    client.raise_request_exception = False
    return client


@pytest.fixture
def signed_in(quiet_client, user):
    quiet_client.force_login(user)
    return quiet_client


def nothing_changed(cart_items_before: list) -> None:
    assert not Order.objects.exists()
    assert not StockReservation.objects.exists()
    assert list(CartItem.objects.values_list("pk", "product_id", "quantity")) == cart_items_before


def cart_items() -> list:
    return list(CartItem.objects.values_list("pk", "product_id", "quantity"))


# --- the parser itself --------------------------------------------------------------------


@pytest.mark.parametrize("raw", [*HOSTILE, "", None, "0"])
def test_id_parse_refuses_anything_but_a_positive_ascii_number_of_18_digits(raw):
    assert id_parse(raw) is None


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), (" 42 ", 42), ("9" * 18, 10**18 - 1)])
def test_id_parse_reads_ascii_digits(raw, expected):
    assert id_parse(raw) == expected


def test_number_parse_never_converts_a_long_string():
    with pytest.raises(NumberTooLong):
        number_parse("9" * 100_000, max_digits=9)
    with pytest.raises(NotANumber):
        number_parse("²", max_digits=9)


def test_the_id_path_converter_is_the_same_parser():
    converter = IdConverter()
    assert converter.to_python("42") == 42
    assert converter.to_url(42) == "42"
    for raw in ("0", "000"):
        with pytest.raises(ValueError):
            converter.to_python(raw)


def test_ids_parse_keeps_good_ids_in_order_without_duplicates_up_to_the_limit():
    assert ids_parse("3,²,1,3,x,9999999999999999999,2", limit=10) == [3, 1, 2]
    assert ids_parse(",".join(["1"] * 100_000 + ["2"]), limit=5) == [1]
    assert ids_parse("5,6,7", limit=2) == [5, 6]


# --- checkout: cart checkout, Buy now, cancel, success -------------------------------------


@pytest.mark.parametrize("signed", [True, False], ids=["signed-in", "anonymous"])
@pytest.mark.parametrize("raw", HOSTILE)
def test_checkout_with_a_hostile_product_is_404_and_changes_nothing(
    quiet_client, user, mug, signed, raw
):
    if signed:
        quiet_client.force_login(user)
    before = cart_items()
    response = quiet_client.post(reverse("checkout:start"), {"product": raw, "quantity": "1"})
    assert response.status_code == 404
    nothing_changed(before)


@pytest.mark.parametrize("signed", [True, False], ids=["signed-in", "anonymous"])
@pytest.mark.parametrize("raw", [*HOSTILE, "0", ""])
def test_buy_now_with_a_hostile_quantity_returns_to_the_product_with_a_message(
    quiet_client, user, mug, signed, raw, stripe
):
    if signed:
        quiet_client.force_login(user)
    response = quiet_client.post(reverse("checkout:start"), {"product": mug.pk, "quantity": raw})
    assert response.status_code == 302
    assert response["Location"] == mug.get_absolute_url()
    nothing_changed([])


def test_a_cart_checkout_ignores_a_hostile_quantity_field(signed_in, cart, stripe):
    """Without `product` the cart is checked out: its own quantities count, not the post's."""
    response = signed_in.post(reverse("checkout:start"), {"quantity": "9" * 5000})
    assert response.status_code == 302
    assert Order.objects.get().lines.count() == 2


@pytest.mark.parametrize("raw", [*HOSTILE, "", "0"])
def test_cancel_with_a_hostile_order_id_is_404_and_changes_nothing(signed_in, checkout, raw):
    order = checkout()
    response = signed_in.get(reverse("checkout:cancel"), {"order": raw})
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "²",
        "cs_",
        "cs_" + "a" * 251,  # longer than Stripe's ids
        "cs_test_a1/../../v1/charges",
        "cs_test_a1?expand[]=x",
        "cs_test_a1 x",
        "pi_123",
        "cs_test_ä",
        "x" * 5000,
    ],
)
def test_success_page_with_a_malformed_session_id_is_404_without_asking_stripe(
    signed_in, checkout, stripe, raw, monkeypatch
):
    order = checkout()
    from checkout import gateway

    monkeypatch.setattr(gateway, "session_retrieve", lambda **kw: pytest.fail("Stripe asked"))
    response = signed_in.get(reverse("checkout:success"), {"session_id": raw})
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


# --- cart: add, update, remove -------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("raw", HOSTILE)
def test_cart_add_with_a_hostile_product_changes_nothing(signed_in, shopper_cart, raw, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = signed_in.post(
        reverse("checkout:cart_add"), {"product": raw, "quantity": "1"}, headers=headers
    )
    assert response.status_code in (200, 400)  # htmx swaps only 2xx: the error is inline
    assert b"Choose a product to add." in response.content
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("raw", HOSTILE)
def test_cart_add_with_a_hostile_quantity_changes_nothing(signed_in, shopper_cart, mug, raw, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = signed_in.post(
        reverse("checkout:cart_add"), {"product": mug.pk, "quantity": raw}, headers=headers
    )
    assert response.status_code in (200, 400)
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("raw", HOSTILE)
def test_cart_update_with_a_hostile_quantity_keeps_the_line(signed_in, user, mug, raw, htmx):
    item = CartItemFactory(cart=CartFactory(user=user), product=mug, quantity=2)
    headers = {"HX-Request": "true"} if htmx else {}
    response = signed_in.post(
        reverse("checkout:cart_update", args=[item.pk]), {"quantity": raw}, headers=headers
    )
    assert response.status_code in (200, 400)
    item.refresh_from_db()
    assert item.quantity == 2


@pytest.mark.parametrize(
    "path",
    [
        "/cart/items/{}/".format("9" * 25),
        "/cart/items/{}/".format("9" * 5000),
        "/cart/items/{}/remove/".format("9" * 25),
        "/cart/items/%C2%B2/",
        "/cart/items/%C2%B2/remove/",
    ],
)
def test_cart_line_urls_with_hostile_ids_are_404(signed_in, user, mug, path):
    CartItemFactory(cart=CartFactory(user=user), product=mug, quantity=2)
    before = cart_items()
    assert signed_in.post(path, {"quantity": "1"}).status_code == 404
    assert cart_items() == before


# --- catalog badges and the dashboard --------------------------------------------------------


@pytest.mark.parametrize("raw", [*HOSTILE, "", ",,,", "²,١"])
def test_badges_with_only_hostile_ids_are_a_400(quiet_client, mug, raw):
    assert quiet_client.get(reverse("catalog:badges"), {"ids": raw}).status_code == 400


def test_badges_skip_hostile_ids_among_good_ones(quiet_client, mug):
    response = quiet_client.get(reverse("catalog:badges"), {"ids": f"²,{mug.pk},{'9' * 50}"})
    assert response.status_code == 200
    assert f"stock-badge-{mug.pk}".encode() in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/orders/{}/".format("9" * 25),
        "/orders/{}/".format("9" * 5000),
        "/orders/{}/status/".format("9" * 25),
        "/orders/%C2%B2/",
        "/orders/?page=%C2%B2",
        "/orders/?page={}".format("9" * 5000),
    ],
)
def test_dashboard_urls_with_hostile_ids_are_4xx_or_a_page(signed_in, path):
    assert signed_in.get(path).status_code in (200, 404)
