"""Stripe's circuit breaker (theme.breaker, checkout.resilience): timeouts, connection
errors, 5xx and 429 open it, a 4xx never does; while open nothing calls Stripe, checkout
fails fast with the message and the success page shows "confirming"; after the cool-down
one request probes while the others still fail fast; a success closes it. Catalog and
cart stay usable, and /healthz reports it without failing."""

import json
import threading
import time

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse

from checkout import gateway
from checkout.models import Order
from checkout.resilience import BREAKER, shopper_budget
from theme import breaker as breaker_module
from theme.breaker import CLOSED, HALF_OPEN, OPEN, BreakerLimits, CircuitBreaker, Ticket

pytestmark = pytest.mark.django_db

SLOW_MESSAGE = "Payments are slow right now; nothing was charged; try again in a minute."


@pytest.fixture(autouse=True)
def limits(settings):
    settings.STRIPE_BREAKER_FAILURES = 3
    settings.STRIPE_BREAKER_WINDOW_SECONDS = 30
    settings.STRIPE_BREAKER_COOLDOWN_SECONDS = 30
    settings.STRIPE_SHOPPER_BUDGET_SECONDS = 3
    return settings


@pytest.fixture(autouse=True)
def _breakers_of_this_test_only(monkeypatch):
    """Breakers made by a test stay out of the registry that /healthz reports."""
    monkeypatch.setattr(breaker_module, "BREAKERS", dict(breaker_module.BREAKERS))


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def faults(stripe, **changes) -> None:
    stripe.control("DELETE", "api_faults")
    if changes:
        stripe.control("POST", "api_faults", changes)


def injected(stripe) -> dict:
    return stripe.control("GET", "api_faults/injected")


def retrieve(session_id: str):
    with shopper_budget():
        return gateway.session_retrieve(session_id=session_id)


def cool_down_over() -> None:
    """As if the cool-down had passed (no sleeping, whatever the machine's load)."""
    cache.set("breaker:stripe:open-until", time.time() - 1, timeout=None)


def open_the_breaker(stripe, session_id: str) -> None:
    faults(stripe, error_rate=1.0, error_status=500)
    while BREAKER.state() != OPEN:
        with pytest.raises(gateway.StripeUnavailable):
            retrieve(session_id)
    faults(stripe)


# --- what counts as a failure ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        {"error_rate": 1.0, "error_status": 500},
        {"error_rate": 1.0, "error_status": 503},
        {"throttle_rate": 1.0, "retry_after": 1},
        {"drop_rate": 1.0},
    ],
    ids=["500", "503", "429", "dropped connection"],
)
def test_server_errors_rate_limits_and_lost_connections_open_the_breaker(checkout, stripe, fault):
    order = checkout()
    faults(stripe, **fault)
    calls = 0
    while BREAKER.state() == CLOSED:
        with pytest.raises(gateway.StripeUnavailable):
            retrieve(order.stripe_session_id)
        calls += 1
        assert calls <= 3
    assert BREAKER.state() == OPEN


def test_timeouts_open_the_breaker(checkout, stripe, settings):
    order = checkout()
    settings.STRIPE_BREAKER_FAILURES = 2
    faults(stripe, latency=3, paths=["/v1/checkout/sessions"])
    for _ in range(2):
        started = time.monotonic()
        with shopper_budget(seconds=1), pytest.raises(gateway.StripeUnavailable):
            gateway.session_retrieve(session_id=order.stripe_session_id)
        assert time.monotonic() - started < 2
    assert BREAKER.state() == OPEN


def test_a_4xx_never_opens_the_breaker(checkout, stripe):
    checkout()
    for _ in range(10):
        with pytest.raises(gateway.ResourceMissing):
            retrieve("cs_test_no_such_session")
    assert BREAKER.state() == CLOSED


# --- open: nothing calls Stripe --------------------------------------------------------------


def test_while_open_no_call_reaches_stripe(checkout, stripe):
    order = checkout()
    open_the_breaker(stripe, order.stripe_session_id)
    faults(stripe, error_rate=1.0)  # any call that got through would be counted
    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(gateway.StripeUnavailable, match="calls paused"):
            retrieve(order.stripe_session_id)
    assert time.monotonic() - started < 2
    assert injected(stripe)["error"] == 0


def test_while_open_checkout_fails_fast_with_the_message_and_creates_nothing(
    shopper_client, cart, checkout, stripe
):
    order = checkout()
    open_the_breaker(stripe, order.stripe_session_id)
    Order.objects.all().delete()
    sessions_before = len(stripe.http.get(f"{stripe.base_url}/v1/checkout/sessions").json()["data"])

    started = time.monotonic()
    response = shopper_client.post(reverse("checkout:start"))

    assert time.monotonic() - started < 3
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:cart")
    assert SLOW_MESSAGE in messages_of(response)
    assert not Order.objects.exists()
    sessions = stripe.http.get(f"{stripe.base_url}/v1/checkout/sessions").json()["data"]
    assert len(sessions) == sessions_before


def test_while_open_the_success_page_shows_confirming_without_asking_stripe(
    shopper_client, checkout, stripe
):
    order = checkout()
    stripe.pay(order.stripe_session_id)  # paid at Stripe; the webhook has not come
    open_the_breaker(stripe, order.stripe_session_id)

    response = shopper_client.get(
        reverse("checkout:success"), {"session_id": order.stripe_session_id}
    )

    assert response.status_code == 200
    assert "We haven’t received confirmation of your payment yet" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # Stripe was not asked


def test_while_open_the_webhook_answers_5xx_so_that_stripe_retries(client, checkout, stripe):
    """A delayed payment's completion is one Stripe must be asked about."""
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)
    open_the_breaker(stripe, order.stripe_session_id)
    event = stripe.events("checkout.session.completed")[0]
    assert stripe.post_event(client, event).status_code == 503
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_while_open_catalog_and_cart_stay_usable(shopper_client, checkout, stripe, pencil):
    order = checkout()
    open_the_breaker(stripe, order.stripe_session_id)
    assert shopper_client.get(reverse("catalog:index")).status_code == 200
    assert shopper_client.get(reverse("catalog:detail", args=[pencil.slug])).status_code == 200
    added = shopper_client.post(reverse("checkout:cart_add"), {"product": pencil.pk})
    assert added.status_code == 302
    assert shopper_client.get(reverse("checkout:cart")).status_code == 200
    assert shopper_client.get(reverse("dashboard:orders")).status_code == 200


def test_healthz_reports_the_breaker_without_failing(client, checkout, stripe):
    order = checkout()
    assert json.loads(client.get("/healthz").content)["breakers"] == {"stripe": CLOSED}
    open_the_breaker(stripe, order.stripe_session_id)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "database": "ok",
        "breakers": {"stripe": OPEN},
        "cache": "local",
    }


# --- cool-down, probe, close -----------------------------------------------------------------


def test_after_the_cool_down_one_request_probes_while_the_others_fail_fast(checkout, stripe):
    order = checkout()
    open_the_breaker(stripe, order.stripe_session_id)
    cool_down_over()
    assert BREAKER.state() == HALF_OPEN
    faults(stripe, latency=1.5)  # the probe takes a while (within the 3 s budget)
    probe: dict = {}

    def probing() -> None:
        try:
            probe["session"] = retrieve(order.stripe_session_id)
        except Exception as exc:  # asserted below
            probe["error"] = exc

    thread = threading.Thread(target=probing)
    thread.start()
    deadline = time.monotonic() + 10
    while cache.get("breaker:stripe:probe") is None and time.monotonic() < deadline:
        time.sleep(0.02)  # until the probe is in flight
    started = time.monotonic()
    with pytest.raises(gateway.StripeUnavailable, match="calls paused"):
        retrieve(order.stripe_session_id)
    assert time.monotonic() - started < 1  # not the 1.5 s the probe waits
    thread.join(timeout=10)

    assert probe.get("session") is not None, probe
    assert BREAKER.state() == CLOSED
    faults(stripe)
    assert retrieve(order.stripe_session_id).id == order.stripe_session_id


def test_a_failed_probe_opens_the_breaker_for_another_cool_down(checkout, stripe):
    order = checkout()
    open_the_breaker(stripe, order.stripe_session_id)
    cool_down_over()
    faults(stripe, error_next=1)
    with pytest.raises(gateway.StripeUnavailable):
        retrieve(order.stripe_session_id)  # the probe, answered 500
    assert BREAKER.state() == OPEN
    faults(stripe, error_rate=1.0)
    with pytest.raises(gateway.StripeUnavailable, match="calls paused"):
        retrieve(order.stripe_session_id)
    assert injected(stripe)["error"] == 0


def test_a_probe_answered_with_a_4xx_closes_the_breaker(checkout, stripe):
    """A 4xx is an answer: Stripe is up."""
    order = checkout()
    open_the_breaker(stripe, order.stripe_session_id)
    cool_down_over()
    with pytest.raises(gateway.ResourceMissing):
        retrieve("cs_test_no_such_session")
    assert BREAKER.state() == CLOSED


# --- the breaker itself ----------------------------------------------------------------------


def limits_of(failures=2, window=30.0, cooldown=60.0) -> BreakerLimits:
    return BreakerLimits(failures=failures, window=window, cooldown=cooldown)


def test_every_process_sees_the_same_breaker_through_the_cache():
    here = CircuitBreaker("shared-test", lambda: limits_of())
    there = CircuitBreaker("shared-test", lambda: limits_of())  # as another process builds it
    here.failed(here.before_call())
    assert there.state() == CLOSED
    there.failed(there.before_call())
    assert here.state() == OPEN
    with pytest.raises(Exception, match="open"):
        there.before_call()


def test_failures_outside_the_window_do_not_add_up():
    breaker = CircuitBreaker("window-test", lambda: limits_of(window=0.2))
    breaker.failed(Ticket())
    time.sleep(0.3)
    breaker.failed(Ticket())
    assert breaker.state() == CLOSED


def test_a_cache_that_fails_lets_calls_through(monkeypatch):
    breaker = CircuitBreaker("broken-cache-test", lambda: limits_of())

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "add", down)
    assert breaker.before_call() == Ticket()
    breaker.failed(Ticket())  # logged, not raised
