"""Behind the proxy, the checkout limit per address counts shoppers, not the proxy
(theme/forwarded.py takes the client's address from the trusted proxy's header)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from checkout.factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db

PROXY = "172.30.0.10"


@pytest.fixture
def one_checkout_per_address(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.CHECKOUT_RATE_LIMIT_PER_ADDRESS = (1, 600)
    settings.CHECKOUT_RATE_LIMIT_PER_USER = None


def checkout(product, *, peer: str, forwarded_for: str = "") -> int:
    user = UserFactory()
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=1)
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    client = Client(REMOTE_ADDR=peer, **headers)
    client.force_login(user)
    return client.post(reverse("checkout:start")).status_code


def test_shoppers_behind_the_proxy_each_have_their_own_quota(one_checkout_per_address, stripe):
    product = ProductFactory(stock_on_hand=10)
    assert checkout(product, peer=PROXY, forwarded_for="203.0.113.7") == 302
    assert checkout(product, peer=PROXY, forwarded_for="203.0.113.8") == 302
    assert checkout(product, peer=PROXY, forwarded_for="203.0.113.7") == 429


def test_a_client_not_behind_the_proxy_cannot_borrow_another_address(
    one_checkout_per_address, stripe
):
    product = ProductFactory(stock_on_hand=10)
    assert checkout(product, peer="198.51.100.9", forwarded_for="203.0.113.1") == 302
    # Its claimed address was ignored: its own is used up, whatever it claims next.
    assert checkout(product, peer="198.51.100.9", forwarded_for="203.0.113.2") == 429
