"""A slow or failing Stripe never takes the shop down (checkout.resilience, the gateway).

- No database connection is held while Stripe is called, in any request or command,
  and a Stripe call inside a transaction is a programming error.
- A shopper-facing call ends within its time budget, retries included; then the shopper
  reads the message on a normal page, holds are released and the order canceled.
- 429 means "slow down": retried later (webhook), never a failed payment.
- Checkout starts are rate limited per shopper and per address, with a 429 page.
"""

import secrets
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import StockReservation
from checkout import gateway
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import Order
from checkout.resilience import BREAKER, StripeCallInTransaction, shopper_budget
from checkout.services.sweeper import checkouts_sweep

SLOW_MESSAGE = "Payments are slow right now; nothing was charged; try again in a minute."


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def faults(stripe, **changes) -> None:
    stripe.control("DELETE", "api_faults")
    if changes:
        stripe.control("POST", "api_faults", changes)


def stripe_sessions(stripe) -> list[dict]:
    return stripe.http.get(f"{stripe.base_url}/v1/checkout/sessions").json()["data"]


def held(order: Order) -> set[str]:
    return set(order.reservations.values_list("status", flat=True))


@pytest.fixture
def budget(settings):
    settings.STRIPE_SHOPPER_BUDGET_SECONDS = 2
    return 2


# --- no connection held ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stripe_call_inside_a_transaction_is_a_programming_error(stripe):
    with transaction.atomic(), pytest.raises(StripeCallInTransaction):
        gateway.session_retrieve(session_id="cs_test_anything")


@pytest.fixture
def connection_watch(monkeypatch):
    """For each HTTP request to Stripe: whether its thread held a database connection."""
    seen: list[tuple[str, bool]] = []
    original = gateway._BudgetedRequestsClient.request

    def request(self, method, url, *args, **kwargs):
        open_ = any(c.connection is not None for c in connections.all(initialized_only=True))
        seen.append((f"{method.upper()} {url.split('/v1/', 1)[-1]}", open_))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(gateway._BudgetedRequestsClient, "request", request)
    return seen


@pytest.mark.django_db(transaction=True)
def test_no_database_connection_is_held_while_stripe_is_called(
    stripe, user, mug, apron, connection_watch
):
    """Checkout, success page, webhook, cancel, sweeper, the admin's refund action and
    the refund's webhook: every Stripe request finds its thread without a connection,
    though each of them ran queries before (a test client, like a request under ASGI,
    keeps its connection from the first query on)."""
    shopper = Client()
    shopper.force_login(user)
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=mug, quantity=1)

    assert shopper.post(reverse("checkout:start")).status_code == 302  # create
    paid = Order.objects.get()
    stripe.pay(paid.stripe_session_id)
    success = shopper.get(reverse("checkout:success"), {"session_id": paid.stripe_session_id})
    assert success.status_code == 200  # retrieve
    stripe.deliver_new(Client())  # checkout.session.completed: retrieve
    paid.refresh_from_db()
    assert paid.status == Order.Status.PAID

    CartItemFactory(cart=cart, product=apron, quantity=1)
    shopper.post(reverse("checkout:start"))
    canceled = Order.objects.exclude(pk=paid.pk).get()
    shopper.get(reverse("checkout:cancel"), {"order": canceled.pk})  # expire
    canceled.refresh_from_db()
    assert canceled.status == Order.Status.CANCELED

    shopper.post(reverse("checkout:start"))
    swept = Order.objects.get(status=Order.Status.PENDING)
    Order.objects.filter(pk=swept.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    checkouts_sweep()  # retrieve
    connection.close()

    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    staff.post(
        reverse("admin:checkout_order_changelist"),
        {
            "action": "refund",
            "_selected_action": [paid.pk],
            "confirm": "yes",
            "reason": "Damaged",
        },
    )  # the refund, on commit
    paid.refresh_from_db()
    assert paid.status == Order.Status.REFUNDING and paid.stripe_refund_id
    stripe.deliver_new(Client())  # charge.refunded: the charge is read back
    paid.refresh_from_db()
    assert paid.status == Order.Status.REFUNDED

    calls = [call for call, _ in connection_watch]
    assert any(call.startswith("POST checkout/sessions") for call in calls)
    assert any(call.startswith("POST refunds") for call in calls)
    assert any(call.startswith("GET charges/") for call in calls)
    assert any(call.endswith("/expire") for call in calls)
    assert [call for call, held_one in connection_watch if held_one] == []


# --- the time budget -----------------------------------------------------------------------


def test_the_http_client_takes_each_attempts_timeout_from_the_budget():
    client = gateway._BudgetedRequestsClient(timeout=(5, 20))
    token = gateway._attempt_timeout.set((0.5, 1.5))
    try:
        assert client._timeout == (0.5, 1.5)
    finally:
        gateway._attempt_timeout.reset(token)
    assert client._timeout == (5, 20)


@pytest.mark.django_db
def test_checkout_with_stripe_stalling_answers_in_the_budget_with_the_message(
    shopper_client, cart, stripe, budget
):
    faults(stripe, latency=8, paths=["/v1/checkout/sessions"])
    started = time.monotonic()
    response = shopper_client.post(reverse("checkout:start"))
    elapsed = time.monotonic() - started

    assert budget - 0.5 < elapsed < budget + 1.5
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:cart")
    assert SLOW_MESSAGE in messages_of(response)
    order = Order.objects.get()
    assert order.status == Order.Status.CANCELED
    assert held(order) == {"released"}


@pytest.mark.django_db
def test_buy_now_with_stripe_stalling_returns_to_the_product_page_with_the_message(
    shopper_client, apron, stripe, budget
):
    faults(stripe, latency=8, paths=["/v1/checkout/sessions"])
    response = shopper_client.post(reverse("checkout:start"), {"product": apron.pk})
    assert response["Location"] == apron.get_absolute_url()
    assert SLOW_MESSAGE in messages_of(response)
    assert held(Order.objects.get()) == {"released"}


@pytest.mark.django_db
def test_success_page_with_stripe_stalling_shows_confirming_in_the_budget(
    shopper_client, checkout, stripe, budget
):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    faults(stripe, latency=8, paths=["/v1/checkout/sessions"])
    started = time.monotonic()
    response = shopper_client.get(
        reverse("checkout:success"), {"session_id": order.stripe_session_id}
    )
    assert time.monotonic() - started < budget + 1.5
    assert response.status_code == 200
    assert "We haven’t received confirmation of your payment yet" in response.content.decode()

    faults(stripe)  # Stripe recovers: the webhook settles it
    stripe.deliver_new(Client())
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


@pytest.mark.django_db
def test_cancel_with_stripe_stalling_releases_the_hold_in_the_budget(
    shopper_client, checkout, stripe, budget
):
    order = checkout()
    faults(stripe, latency=8, paths=["/v1/checkout/sessions"])
    started = time.monotonic()
    response = shopper_client.get(reverse("checkout:cancel"), {"order": order.pk})
    assert time.monotonic() - started < budget + 1.5
    assert response["Location"] == reverse("checkout:cart")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert held(order) == {"released"}


@pytest.mark.django_db
def test_a_server_error_is_retried_within_the_budget(shopper_client, cart, stripe, budget):
    faults(stripe, error_next=1, paths=["/v1/checkout/sessions"])
    response = shopper_client.post(reverse("checkout:start"))
    order = Order.objects.get()
    assert response["Location"] == order.stripe_checkout_url
    assert stripe.control("GET", "api_faults/injected")["error"] == 1


@pytest.mark.django_db
def test_a_connection_lost_after_the_create_is_retried_into_the_same_session(
    shopper_client, cart, stripe, budget
):
    faults(stripe, drop_next=1, paths=["/v1/checkout/sessions"])
    response = shopper_client.post(reverse("checkout:start"))
    order = Order.objects.get()
    assert response["Location"] == order.stripe_checkout_url
    assert [s["id"] for s in stripe_sessions(stripe)] == [order.stripe_session_id]


# --- 429: slow down --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_429_at_checkout_is_slow_down_not_a_failed_payment(shopper_client, cart, stripe):
    faults(stripe, throttle_next=1, retry_after=1, paths=["/v1/checkout/sessions"])
    response = shopper_client.post(reverse("checkout:start"))
    assert SLOW_MESSAGE in messages_of(response)
    order = Order.objects.get()
    assert order.status == Order.Status.CANCELED
    assert "did not answer in time" in order.cancel_reason
    assert cache.get("breaker:stripe:failures") == 1  # counted as Stripe failing


@pytest.mark.django_db
def test_a_429_on_a_webhook_is_waited_out(client, checkout, stripe):
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)  # its completion is read back
    faults(stripe, throttle_next=1, retry_after=1, paths=["/v1/checkout/sessions"])
    started = time.monotonic()
    assert stripe.deliver_new(client, "checkout.session.completed")[0].status_code == 200
    assert time.monotonic() - started >= 1  # Retry-After
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING


@pytest.mark.django_db
def test_a_webhook_rate_limited_throughout_answers_503_and_its_retry_succeeds(
    client, checkout, stripe, settings
):
    settings.STRIPE_BACKGROUND_BUDGET_SECONDS = 3
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)  # its completion is read back
    event = stripe.events("checkout.session.completed")[0]
    faults(stripe, throttle_rate=1.0, retry_after=1, paths=["/v1/checkout/sessions"])
    assert stripe.post_event(client, event).status_code == 503
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # not failed: not yet known

    faults(stripe)
    BREAKER.reset()
    assert stripe.post_event(client, event).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING


# --- rate limits on checkout starts ------------------------------------------------------


@pytest.mark.django_db
def test_too_many_checkouts_by_one_shopper_get_a_429_page_and_nothing_at_stripe(
    shopper_client, user, mug, stripe, settings
):
    settings.CHECKOUT_RATE_LIMIT_PER_USER = (3, 600)
    cart = CartFactory(user=user)
    line = CartItemFactory(cart=cart, product=mug, quantity=1)
    for quantity in (1, 2, 3):  # each changed cart costs an expire and a create
        line.quantity = quantity
        line.save()
        assert shopper_client.post(reverse("checkout:start")).status_code == 302
    orders, sessions = Order.objects.count(), len(stripe_sessions(stripe))

    line.quantity = 4
    line.save()
    response = shopper_client.post(reverse("checkout:start"))

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert b"Please try again in a minute" in response.content
    assert Order.objects.count() == orders
    assert len(stripe_sessions(stripe)) == sessions
    assert Order.objects.filter(status=Order.Status.PENDING).count() == 1  # the last one


@pytest.mark.django_db
def test_a_rate_limited_htmx_checkout_gets_a_toast(shopper_client, cart, stripe, settings):
    settings.CHECKOUT_RATE_LIMIT_PER_USER = (1, 600)
    shopper_client.post(reverse("checkout:start"))
    response = shopper_client.post(reverse("checkout:start"), headers={"HX-Request": "true"})
    assert response.status_code == 429
    assert response["HX-Retarget"] == "#toasts"
    assert response["HX-Reswap"] == "beforeend"
    assert b'data-testid="rate-limited"' in response.content
    assert b"<html" not in response.content


@pytest.mark.django_db
def test_too_many_checkouts_from_one_address_get_a_429(mug, stripe, settings):
    settings.CHECKOUT_RATE_LIMIT_PER_ADDRESS = (2, 600)
    answers = []
    for _ in range(3):
        shopper = UserFactory()
        CartItemFactory(cart=CartFactory(user=shopper), product=mug, quantity=1)
        client = Client(REMOTE_ADDR="203.0.113.7")
        client.force_login(shopper)
        answers.append(client.post(reverse("checkout:start")).status_code)
    assert answers == [302, 302, 429]
    assert Order.objects.count() == 2
    other = UserFactory()
    CartItemFactory(cart=CartFactory(user=other), product=mug, quantity=1)
    elsewhere = Client(REMOTE_ADDR="198.51.100.1")
    elsewhere.force_login(other)
    assert elsewhere.post(reverse("checkout:start")).status_code == 302


# --- PostgreSQL: the pool stays free for other shoppers --------------------------------------


def _signed_in_session(user, base_url: str) -> requests.Session:
    """A requests session signed in as `user` (server-side session) with a CSRF pair."""
    client = Client()
    client.force_login(user)
    token = secrets.token_hex(16)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    session.cookies.set("csrftoken", token)
    session.headers["X-CSRFToken"] = token
    return session


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_checkouts_stalled_on_stripe_leave_the_pool_to_other_shoppers(
    live_server, stripe, settings
):
    """The pool as configured (DATABASE_POOL_SIZE, 4 by default), Stripe answering
    checkout sessions after 25 s: eight checkouts wait on it at once through the live
    server, while another shopper's catalog, cart and orders pages answer promptly and
    the pool has no waiting request. The checkouts end at the budget (10 s) with the
    message, their holds released."""
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    assert pool["max_size"] < 8  # fewer connections than checkouts waiting
    product = ProductFactory(stock_on_hand=100)
    buyers = [UserFactory() for _ in range(8)]
    for buyer in buyers:
        CartItemFactory(cart=CartFactory(user=buyer), product=product, quantity=1)
    browsing = UserFactory()
    CartItemFactory(cart=CartFactory(user=browsing), product=product, quantity=2)
    sessions = [_signed_in_session(buyer, live_server.url) for buyer in buyers]
    browser = _signed_in_session(browsing, live_server.url)
    faults(stripe, latency=25, paths=["/v1/checkout/sessions"])
    connection.close()  # the test's own connection goes back to the pool as well

    answers: list = [None] * 8

    def check_out(index: int) -> None:
        started = time.monotonic()
        response = sessions[index].post(
            live_server.url + reverse("checkout:start"), allow_redirects=False, timeout=60
        )
        answers[index] = (response.status_code, response.headers.get("Location"))
        answers[index] += (time.monotonic() - started,)

    threads = [threading.Thread(target=check_out, args=(i,)) for i in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(1.5)  # every checkout is now waiting on Stripe

    page_times = []
    waiting = []
    while time.monotonic() - started < 7:
        for path in (reverse("catalog:index"), reverse("checkout:cart"), "/orders/"):
            before = time.monotonic()
            response = browser.get(live_server.url + path, timeout=30)
            page_times.append((path, response.status_code, time.monotonic() - before))
        waiting.append(connections["default"].pool.get_stats().get("requests_waiting", 0))
    for thread in threads:
        thread.join(timeout=60)

    assert all(status == 200 for _, status, _ in page_times), page_times
    assert max(seconds for _, _, seconds in page_times) < 2, page_times
    assert waiting and max(waiting) == 0
    for status, location, seconds in answers:
        assert status == 302 and location == reverse("checkout:cart")
        assert seconds < settings.STRIPE_SHOPPER_BUDGET_SECONDS + 3
    assert SLOW_MESSAGE in sessions[0].get(live_server.url + reverse("checkout:cart")).text
    assert not StockReservation.objects.filter(status=StockReservation.Status.ACTIVE).exists()
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.CANCELED}


# --- the budget only shortens ---------------------------------------------------------------


def test_a_nested_budget_never_extends_the_outer_one(settings):
    settings.STRIPE_SHOPPER_BUDGET_SECONDS = 10
    from checkout import resilience

    with shopper_budget(seconds=1):
        outer = resilience.budget_current()[1]
        with shopper_budget():
            assert resilience.budget_current()[1] == outer
    assert resilience.budget_current()[0] is resilience.BACKGROUND
