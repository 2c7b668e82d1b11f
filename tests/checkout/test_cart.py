"""The cart through HTTP: the page, add, update, remove; htmx and plain form posts."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from catalog.factories import ProductFactory
from checkout.factories import CartFactory, CartItemFactory, StockReservationFactory
from checkout.models import Cart, CartItem
from checkout.selectors import SESSION_CART_KEY
from tests.html import one
from tests.stock import stock_set

pytestmark = pytest.mark.django_db

BAD_QUANTITIES = ["abc", "-1", "1.5", "1000000000000", "", "1e3"]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def quantities(cart: Cart) -> dict[str, int]:
    return {item.product.name: item.quantity for item in cart.items.select_related("product")}


def oob(html: str, element_id: str) -> str:
    """The out-of-band element with this id in an htmx response (empty if none)."""
    match = re.search(
        rf'<(\w+)[^>]*id="{re.escape(element_id)}"[^>]*hx-swap-oob="[^"]+"[^>]*>(.*?)</\1>',
        html,
        re.S,
    )
    return match.group(0) if match else ""


@pytest.fixture
def filled_cart(shopper_cart, notebook, pencil) -> Cart:
    """The shopper's cart: 2 notebooks at €14.50 and 3 pencils at €2.50 (5 items, €36.50)."""
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=2)
    CartItemFactory(cart=shopper_cart, product=pencil, quantity=3)
    return shopper_cart


@pytest.fixture
def notebook_line(filled_cart, notebook) -> CartItem:
    return filled_cart.items.get(product=notebook)


# ------------------------------------------------------------------------ the page


def test_empty_cart_leads_to_the_catalog(client):
    response = client.get(reverse("checkout:cart"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your cart is empty" in html
    browse = one(html, testid="cart-empty").one(role="link", name="Browse the shop")
    assert browse.get("href") == reverse("catalog:index")
    assert 'data-testid="checkout-button"' not in html


def test_cart_page_lists_lines_with_price_quantity_total_and_remove(
    shopper_client, filled_cart, notebook_line
):
    response = shopper_client.get(reverse("checkout:cart"))
    html = response.content.decode()

    assert "Dot-grid notebook" in html and "Cedar pencil" in html
    assert "€14.50 each" in html
    assert f'id="line-{notebook_line.pk}-total"' in html
    assert "€29.00" in html  # 2 × 14.50
    assert "€36.50" in html  # 29.00 + 3 × 2.50
    assert 'name="quantity"' in html and 'value="2"' in html
    assert f'action="{reverse("checkout:cart_remove", args=[notebook_line.pk])}"' in html
    assert '<span id="cart-count"' in html and ">5</span>" in html
    assert response["Vary"].count("HX-Request") == 1


def test_checkout_button_posts_to_checkout_start(shopper_client, filled_cart):
    html = shopper_client.get(reverse("checkout:cart")).content.decode()
    button = one(html, testid="checkout-button")
    form = button.closest(tag="form")
    assert (form.get("method"), form.get("action")) == ("post", reverse("checkout:start"))
    assert button.name == "Check out"
    assert not button.has("disabled")


def test_anonymous_shopper_is_told_to_sign_in_to_check_out(client, notebook):
    client.post(reverse("checkout:cart_add"), {"product": notebook.pk})
    html = client.get(reverse("checkout:cart")).content.decode()
    assert "Sign in to check out" in html


def test_htmx_get_answers_the_cart_fragment(shopper_client, filled_cart, htmx_headers):
    html = shopper_client.get(reverse("checkout:cart"), headers=htmx_headers).content.decode()
    assert html.lstrip().startswith('<div id="cart">')
    assert "<html" not in html


def test_cart_page_runs_a_fixed_number_of_queries_whatever_the_number_of_lines(
    shopper_client, user, django_assert_num_queries
):
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=ProductFactory(), quantity=1)
    # session, user, cart, lines (with availability): the header count reuses the lines.
    with django_assert_num_queries(4):
        shopper_client.get(reverse("checkout:cart"))
    for _ in range(7):
        CartItemFactory(cart=cart, product=ProductFactory(), quantity=2)
        StockReservationFactory(product=cart.items.last().product, quantity=1)
    with django_assert_num_queries(4):
        response = shopper_client.get(reverse("checkout:cart"))
    assert response.content.decode().count('data-testid="cart-line"') == 8


# -------------------------------------------------------------------------- adding


def test_plain_add_creates_an_anonymous_cart_kept_in_the_session(client, notebook):
    response = client.post(reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 2})

    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:cart")
    cart = Cart.objects.get(pk=client.session[SESSION_CART_KEY])
    assert cart.user is None
    assert quantities(cart) == {"Dot-grid notebook": 2}
    assert "Added 2 × Dot-grid notebook to your cart." in messages_of(response)


def test_quantity_defaults_to_one(shopper_client, user, notebook):
    shopper_client.post(reverse("checkout:cart_add"), {"product": notebook.pk})
    assert quantities(user.cart) == {"Dot-grid notebook": 1}


def test_plain_add_goes_back_to_a_safe_next(shopper_client, notebook):
    back = notebook.get_absolute_url()
    response = shopper_client.post(
        reverse("checkout:cart_add"), {"product": notebook.pk, "next": back}
    )
    assert response["Location"] == back


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_plain_add_never_follows_an_outside_next(shopper_client, notebook, unsafe):
    response = shopper_client.post(
        reverse("checkout:cart_add"), {"product": notebook.pk, "next": unsafe}
    )
    assert response["Location"] == reverse("checkout:cart")


def test_htmx_add_answers_a_confirmation_the_header_count_and_a_toast(
    shopper_client, filled_cart, notebook, htmx_headers
):
    response = shopper_client.post(
        reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 1}, headers=htmx_headers
    )
    html = response.content.decode()

    assert response.status_code == 200
    assert "Added ✓" in html
    assert ">6</span>" in oob(html, "cart-count")  # 5 before, one more
    assert re.search(r'id="toasts"\s+hx-swap-oob="beforeend"', html)
    assert "Added Dot-grid notebook to your cart." in html
    assert quantities(filled_cart)["Dot-grid notebook"] == 3


def test_adding_more_than_available_is_refused_with_the_limit(shopper_client, notebook):
    response = shopper_client.post(
        reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 6}
    )
    assert response.status_code == 400
    assert "Only 5 available" in response.content.decode()
    assert not CartItem.objects.exists()


def test_htmx_add_over_the_limit_answers_the_error_for_the_card(
    shopper_client, filled_cart, notebook, htmx_headers
):
    response = shopper_client.post(
        reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 4}, headers=htmx_headers
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx 2 swaps no 4xx by default
    assert "data-cart-error" in html
    assert "Only 5 available; you already have 2 in your cart" in html
    assert "Added" not in html
    assert quantities(filled_cart)["Dot-grid notebook"] == 2


def test_adding_beyond_the_per_order_cap_is_refused(shopper_client, pencil, htmx_headers):
    response = shopper_client.post(
        reverse("checkout:cart_add"), {"product": pencil.pk, "quantity": 11}, headers=htmx_headers
    )
    assert "At most 10 per order" in response.content.decode()
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("raw", BAD_QUANTITIES)
def test_bad_add_quantity_changes_nothing_and_is_a_400(shopper_client, filled_cart, notebook, raw):
    before = quantities(filled_cart)
    response = shopper_client.post(
        reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": raw}
    )
    assert response.status_code == 400
    assert "Could not add Dot-grid notebook to your cart" in response.content.decode()
    assert quantities(filled_cart) == before


@pytest.mark.parametrize("raw", BAD_QUANTITIES)
def test_bad_add_quantity_from_htmx_shows_the_error_and_changes_nothing(
    shopper_client, filled_cart, notebook, raw, htmx_headers
):
    before = quantities(filled_cart)
    response = shopper_client.post(
        reverse("checkout:cart_add"),
        {"product": notebook.pk, "quantity": raw},
        headers=htmx_headers,
    )
    html = response.content.decode()
    assert "data-cart-error" in html
    assert "Enter a whole number" in html or "At most 10 per order" in html
    assert quantities(filled_cart) == before


@pytest.mark.parametrize("raw", [None, "", "abc", "-3", "1.0"])
def test_missing_or_malformed_product_is_a_400(client, raw):
    data = {"quantity": 1} if raw is None else {"product": raw, "quantity": 1}
    response = client.post(reverse("checkout:cart_add"), data)
    assert response.status_code == 400
    assert "Choose a product to add" in response.content.decode()
    assert not Cart.objects.exists()


@pytest.mark.parametrize("product_id", ["999999", "99999999999999999"])
def test_unknown_product_is_a_404_and_creates_no_cart(client, product_id, htmx_headers):
    for headers in ({}, htmx_headers):
        response = client.post(
            reverse("checkout:cart_add"), {"product": product_id}, headers=headers
        )
        assert response.status_code == 404
    assert not Cart.objects.exists()


def test_inactive_product_is_a_404(shopper_client, notebook):
    notebook.is_active = False
    notebook.save()
    response = shopper_client.post(reverse("checkout:cart_add"), {"product": notebook.pk})
    assert response.status_code == 404
    assert not CartItem.objects.exists()


# ------------------------------------------------------------------------ updating


def test_htmx_update_answers_feedback_line_total_summary_and_header_count(
    shopper_client, filled_cart, notebook_line, htmx_headers
):
    url = reverse("checkout:cart_update", args=[notebook_line.pk])
    response = shopper_client.post(url, {"quantity": "4"}, headers=htmx_headers)
    html = response.content.decode()

    assert response.status_code == 200
    assert 'role="alert"' not in html
    assert "€58.00" in oob(html, f"line-{notebook_line.pk}-total")  # 4 × 14.50
    summary = oob(html, "cart-summary")
    assert "€65.50" in summary  # 58.00 + 7.50
    assert "disabled" not in summary
    assert ">7</span>" in oob(html, "cart-count")
    assert "Cart total €65.50" in oob(html, "cart-status")
    assert quantities(filled_cart)["Dot-grid notebook"] == 4


def test_plain_update_redirects_to_the_cart(shopper_client, filled_cart, notebook_line):
    url = reverse("checkout:cart_update", args=[notebook_line.pk])
    response = shopper_client.post(url, {"quantity": "3"})
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:cart")
    assert quantities(filled_cart)["Dot-grid notebook"] == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("6", "Only 5 available"),
        ("11", "Only 5 available"),
        ("abc", "Enter a whole number"),
        ("", "Enter a whole number"),
        ("1.5", "Enter a whole number"),
        ("-1", "Enter a whole number, 0 or more"),
        ("1000000000000", "At most 10 per order"),
    ],
)
def test_htmx_update_with_a_bad_quantity_keeps_the_last_valid_one_and_says_why(
    shopper_client, filled_cart, notebook_line, htmx_headers, raw, message
):
    url = reverse("checkout:cart_update", args=[notebook_line.pk])
    response = shopper_client.post(url, {"quantity": raw}, headers=htmx_headers)
    html = response.content.decode()

    assert response.status_code == 200
    error = one(html, role="alert")
    assert message in error.text
    assert "Your cart keeps 2." in error.text
    assert "€29.00" in oob(html, f"line-{notebook_line.pk}-total")
    assert quantities(filled_cart) == {"Dot-grid notebook": 2, "Cedar pencil": 3}


@pytest.mark.parametrize("raw", [*BAD_QUANTITIES, "6", None])
def test_plain_update_with_a_bad_quantity_shows_the_page_with_the_error(
    shopper_client, filled_cart, notebook_line, raw
):
    url = reverse("checkout:cart_update", args=[notebook_line.pk])
    response = shopper_client.post(url, {} if raw is None else {"quantity": raw})
    html = response.content.decode()

    assert response.status_code == 400
    assert 'role="alert"' in html and "Your cart keeps 2." in html
    assert 'aria-invalid="true"' in html
    assert quantities(filled_cart) == {"Dot-grid notebook": 2, "Cedar pencil": 3}


def test_the_per_order_cap_comes_from_settings(shopper_client, filled_cart, pencil, settings):
    settings.CART_MAX_QUANTITY = 4
    line = filled_cart.items.get(product=pencil)
    url = reverse("checkout:cart_update", args=[line.pk])
    response = shopper_client.post(url, {"quantity": "5"})
    assert "At most 4 per order" in response.content.decode()
    assert quantities(filled_cart)["Cedar pencil"] == 3


# ------------------------------------------------------------------------ removing


def test_htmx_zero_removes_the_line_and_offers_undo(
    shopper_client, filled_cart, notebook, notebook_line, htmx_headers
):
    url = reverse("checkout:cart_update", args=[notebook_line.pk])
    response = shopper_client.post(url, {"quantity": "0"}, headers=htmx_headers)
    html = response.content.decode()

    assert response["HX-Retarget"] == "#cart"
    assert response["HX-Reswap"] == "outerHTML"
    assert quantities(filled_cart) == {"Cedar pencil": 3}
    assert "Removed <strong" in html and "Dot-grid notebook" in html
    undo = re.search(r'<form method="post"\s+action="([^"]+)".*?</form>', html, re.S)
    assert undo.group(1) == reverse("checkout:cart_add")
    assert f'name="product" value="{notebook.pk}"' in undo.group(0)
    assert 'name="quantity" value="2"' in undo.group(0)
    assert ">3</span>" in oob(html, "cart-count")
    assert "€7.50" in html


def undo_form(html: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the "Undo" form in a page or fragment."""
    form = re.search(
        r'<form method="post"\s+action="([^"]+)"[^>]*>((?:(?!<form).)*?)>Undo</button>', html, re.S
    )
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    fields.pop("csrfmiddlewaretoken", None)
    return form.group(1), fields


def test_htmx_undo_puts_the_line_back_with_its_previous_quantity(
    shopper_client, filled_cart, notebook, notebook_line, htmx_headers
):
    removed = shopper_client.post(
        reverse("checkout:cart_remove", args=[notebook_line.pk]), headers=htmx_headers
    )
    action, fields = undo_form(removed.content.decode())

    response = shopper_client.post(action, fields, headers={**htmx_headers, "HX-Target": "cart"})
    html = response.content.decode()

    assert quantities(filled_cart) == {"Dot-grid notebook": 2, "Cedar pencil": 3}
    assert html.lstrip().startswith('<div id="cart">')
    assert html.count('data-testid="cart-line"') == 2
    assert ">5</span>" in oob(html, "cart-count")
    assert "Put 2 × Dot-grid notebook back in your cart." in html


def test_plain_undo_puts_the_line_back_and_returns_to_the_cart(
    shopper_client, filled_cart, notebook_line
):
    shopper_client.post(reverse("checkout:cart_remove", args=[notebook_line.pk]))
    action, fields = undo_form(shopper_client.get(reverse("checkout:cart")).content.decode())

    response = shopper_client.post(action, fields)

    assert response["Location"] == reverse("checkout:cart")
    assert quantities(filled_cart) == {"Dot-grid notebook": 2, "Cedar pencil": 3}


def test_undo_when_the_stock_has_gone_says_why_and_changes_nothing(
    shopper_client, filled_cart, notebook, notebook_line, htmx_headers
):
    removed = shopper_client.post(
        reverse("checkout:cart_remove", args=[notebook_line.pk]), headers=htmx_headers
    )
    action, fields = undo_form(removed.content.decode())
    StockReservationFactory(product=notebook, quantity=5)

    response = shopper_client.post(action, fields, headers={**htmx_headers, "HX-Target": "cart"})

    assert "Could not put back Dot-grid notebook: Sold out" in response.content.decode()
    assert quantities(filled_cart) == {"Cedar pencil": 3}


def test_plain_remove_redirects_to_the_cart_which_offers_undo_once(
    shopper_client, filled_cart, notebook_line
):
    response = shopper_client.post(reverse("checkout:cart_remove", args=[notebook_line.pk]))
    assert response["Location"] == reverse("checkout:cart")
    assert quantities(filled_cart) == {"Cedar pencil": 3}

    first = shopper_client.get(reverse("checkout:cart")).content.decode()
    assert "Removed <strong" in first and ">Undo</button>" in first
    again = shopper_client.get(reverse("checkout:cart")).content.decode()
    assert ">Undo</button>" not in again


def test_plain_zero_removes_the_line(shopper_client, filled_cart, notebook_line):
    url = reverse("checkout:cart_update", args=[notebook_line.pk])
    response = shopper_client.post(url, {"quantity": "0"})
    assert response.status_code == 302
    assert quantities(filled_cart) == {"Cedar pencil": 3}


def test_removing_the_last_line_shows_the_empty_state_with_undo(
    shopper_client, user, notebook, htmx_headers
):
    line = CartItemFactory(cart=CartFactory(user=user), product=notebook, quantity=1)
    response = shopper_client.post(
        reverse("checkout:cart_remove", args=[line.pk]), headers=htmx_headers
    )
    html = response.content.decode()
    assert "Your cart is empty" in html and ">Undo</button>" in html
    assert "hidden" in oob(html, "cart-count")


# ---------------------------------------------------------------- other shoppers


@pytest.mark.parametrize("name", ["checkout:cart_update", "checkout:cart_remove"])
def test_another_shoppers_line_is_a_404_and_stays_unchanged(
    client, other_user, filled_cart, notebook_line, name, htmx_headers
):
    client.force_login(other_user)
    CartFactory(user=other_user)
    for headers in ({}, htmx_headers):
        response = client.post(
            reverse(name, args=[notebook_line.pk]), {"quantity": "1"}, headers=headers
        )
        assert response.status_code == 404
    assert quantities(filled_cart) == {"Dot-grid notebook": 2, "Cedar pencil": 3}


def test_an_anonymous_shopper_cannot_touch_a_users_line(client, filled_cart, notebook_line):
    client.post(reverse("checkout:cart_add"), {"product": notebook_line.product_id})
    response = client.post(
        reverse("checkout:cart_update", args=[notebook_line.pk]), {"quantity": "1"}
    )
    assert response.status_code == 404
    assert quantities(filled_cart)["Dot-grid notebook"] == 2


def test_unknown_or_huge_line_ids_are_404(shopper_client, filled_cart):
    for item_id in (999999, 10**30):
        url = f"/cart/items/{item_id}/"
        assert shopper_client.post(url, {"quantity": "1"}).status_code == 404
        assert shopper_client.post(url + "remove/").status_code == 404


# -------------------------------------------------------------- stock moving under


def test_a_line_whose_stock_dropped_shows_the_notice_and_blocks_checkout(
    shopper_client, filled_cart, notebook
):
    StockReservationFactory(product=notebook, quantity=4)  # someone else bought 4 of 5

    html = shopper_client.get(reverse("checkout:cart")).content.decode()

    assert "Only 1 left — reduce the quantity" in html
    assert "1 line needs your attention before you can check out." in html
    assert re.search(r'data-testid="checkout-button"\s+disabled', html)
    assert quantities(filled_cart)["Dot-grid notebook"] == 2  # shown, not changed


def test_a_sold_out_line_says_remove_it(shopper_client, filled_cart, notebook):
    stock_set(notebook, 0)
    html = shopper_client.get(reverse("checkout:cart")).content.decode()
    assert "Sold out — remove it" in html


def test_resolving_the_problem_enables_checkout_in_the_same_response(
    shopper_client, filled_cart, notebook, notebook_line, htmx_headers
):
    StockReservationFactory(product=notebook, quantity=4)
    url = reverse("checkout:cart_update", args=[notebook_line.pk])

    response = shopper_client.post(url, {"quantity": "1"}, headers=htmx_headers)
    html = response.content.decode()

    assert "reduce the quantity" not in html
    summary = oob(html, "cart-summary")
    assert "needs your attention" not in summary
    assert not re.search(r'data-testid="checkout-button"\s+disabled', summary)


# ---------------------------------------------------------------------- protocol


@pytest.mark.parametrize(
    ("name", "args"),
    [("checkout:cart_add", []), ("checkout:cart_update", [1]), ("checkout:cart_remove", [1])],
)
def test_cart_posts_are_csrf_protected_and_post_only(user, filled_cart, notebook, name, args):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    line = filled_cart.items.get(product=notebook)
    url = reverse(name, args=[line.pk] if args else [])
    assert client.post(url, {"product": notebook.pk, "quantity": "1"}).status_code == 403
    assert client.get(url).status_code == 405
    assert quantities(filled_cart) == {"Dot-grid notebook": 2, "Cedar pencil": 3}
