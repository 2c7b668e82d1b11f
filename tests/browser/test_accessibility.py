"""axe-core scans of the pages a shopper goes through: no serious or critical violations."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from checkout.factories import CartFactory, CartItemFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db(transaction=True)


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def shop(db):
    shopper = UserFactory()
    products = [
        ProductFactory(name="Linen notebook", slug="notebook", stock_on_hand=12),
        ProductFactory(name="Enamel mug", slug="mug", stock_on_hand=2),
        ProductFactory(name="Storm lantern", slug="lantern", stock_on_hand=0),
    ]
    cart = CartFactory(user=shopper)
    CartItemFactory(cart=cart, product=products[0], quantity=2)
    CartItemFactory(cart=cart, product=products[1], quantity=1)
    paid = OrderFactory(user=shopper, status="paid", amount_total=2500, stripe_session_id="cs_a11y")
    OrderLineFactory(order=paid, product=products[0], quantity=2)
    OrderFactory(user=shopper, status="refunded", amount_total=1250)
    return shopper, paid


@pytest.mark.parametrize(
    "path",
    ["/", "/?q=mug", "/products/notebook/", "/cart/", "/orders/", "ORDER", "/accounts/login/"],
)
def test_page_has_no_serious_accessibility_violations(new_page, shop, path):
    shopper, paid = shop
    page = new_page(None if path == "/accounts/login/" else shopper)
    page.goto(f"/orders/{paid.pk}/" if path == "ORDER" else path)
    assert serious_violations(page) == []


def test_success_page_has_no_serious_accessibility_violations(new_page, shop, settings):
    from unittest import mock

    shopper, paid = shop
    page = new_page(shopper)
    # The success page asks Stripe about the session; here the order is already paid.
    with mock.patch("checkout.views.payment.order_fulfil", return_value=paid):
        page.goto("/checkout/success/?session_id=cs_a11y")
    assert "Payment confirmed" in page.inner_text("main")
    assert serious_violations(page) == []


def test_the_scan_does_report_a_serious_violation(page):
    page.set_content('<html lang="en"><body><main><img src="x.png"></main></body></html>')
    assert any(v.startswith("image-alt") for v in serious_violations(page))
