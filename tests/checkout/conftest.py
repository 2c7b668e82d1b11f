import pytest
from django.urls import reverse

from catalog.factories import ProductFactory
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import Order
from stripe_emulator.server import Emulator
from tests.stripe_harness import StripeHarness


@pytest.fixture
def stripe(settings):
    """A Stripe emulator of the test's own; the shop's gateway points at it.

    Webhooks are not sent by the emulator here: tests deliver them with
    `stripe.deliver_new(client)`, so they decide order, repetition and timing.
    """
    emulator = Emulator(
        webhook_url=None,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        retry_delays=(0.05, 0.1),
        async_delay=60,  # tests complete delayed payments explicitly
    )
    base_url = emulator.start(host="127.0.0.1", port=0)
    settings.STRIPE_API_BASE = base_url
    yield StripeHarness(emulator, base_url)
    emulator.stop()


@pytest.fixture
def stripe_down(settings):
    """Nothing listens here: every Stripe call fails to connect."""
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"


@pytest.fixture
def mug(db):
    return ProductFactory(name="Enamel mug", slug="enamel-mug", unit_amount=1800, stock_on_hand=5)


@pytest.fixture
def apron(db):
    return ProductFactory(name="Linen apron", slug="linen-apron", unit_amount=3400, stock_on_hand=3)


@pytest.fixture
def notebook(db):
    return ProductFactory(name="Dot-grid notebook", unit_amount=1450, stock_on_hand=5)


@pytest.fixture
def pencil(db):
    return ProductFactory(name="Cedar pencil", unit_amount=250, stock_on_hand=50)


@pytest.fixture
def shopper_cart(user):
    """The signed-in shopper's cart, empty."""
    return CartFactory(user=user)


@pytest.fixture
def cart(user, mug, apron):
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=mug, quantity=2)
    CartItemFactory(cart=cart, product=apron, quantity=1)
    return cart


@pytest.fixture
def checkout(shopper_client, cart, stripe):
    """Start a checkout of the shopper's cart; returns the pending order."""

    def start() -> Order:
        response = shopper_client.post(reverse("checkout:start"))
        assert response.status_code == 302, response
        return Order.objects.filter(user=cart.user).latest("created_at")

    return start
