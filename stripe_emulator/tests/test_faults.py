"""API faults seen through the real Stripe SDK: latency, 5xx, 429, dropped answers, rate limits."""

import time

import pytest
import stripe

from stripe_emulator.server import Emulator

from .conftest import Api, session_params
from .test_page import fetch


def create(client):
    return client.v1.checkout.sessions.create(params=session_params())


def test_latency_on_all_calls_or_by_prefix(client, api, emulator):
    status, faults = api.control("POST", "api_faults", {"latency": 0.3})
    assert status == 200 and faults["latency"] == 0.3
    started = time.monotonic()
    session = create(client)
    assert time.monotonic() - started >= 0.3

    api.control("POST", "api_faults", {"paths": ["/v1/refunds"]})
    started = time.monotonic()
    client.v1.checkout.sessions.retrieve(session.id)
    assert time.monotonic() - started < 0.25
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.retrieve("re_missing")
    assert time.monotonic() - started >= 0.3


def test_controls_and_hosted_page_are_never_faulted(api, emulator):
    session = api.create_session()
    api.control("POST", "api_faults", {"latency": 0.5, "error_rate": 1.0, "drop_rate": 1.0})
    started = time.monotonic()
    assert api.control("GET", "clock")[0] == 200
    assert fetch(session["url"])[0] == 200
    assert api.pay(session["id"])[0] == 200
    assert time.monotonic() - started < 0.4


def test_error_answers_before_the_call_runs(client, api, emulator):
    api.control("POST", "api_faults", {"error_next": 1})
    with pytest.raises(stripe.APIError) as info:
        create(client)
    assert info.value.http_status == 500
    assert info.value.error.type == "api_error"
    assert emulator.store.state["sessions"] == {}
    assert create(client).status == "open"  # only the next one

    api.control("POST", "api_faults", {"error_rate": 1.0, "error_status": 503})
    with pytest.raises(stripe.APIError) as info:
        client.v1.checkout.sessions.list()
    assert info.value.http_status == 503
    assert api.control("GET", "api_faults/injected")[1]["error"] == 2


def test_sdk_retries_a_500_with_the_same_idempotency_key(api, emulator):
    retrying = stripe.StripeClient(
        "sk_test_123", base_addresses={"api": emulator.base_url}, max_network_retries=2
    )
    api.control("POST", "api_faults", {"error_next": 2})
    session = retrying.v1.checkout.sessions.create(params=session_params())
    assert session.status == "open" and len(emulator.store.state["sessions"]) == 1


def test_throttle_answers_429_with_retry_after(client, api, emulator):
    api.control("POST", "api_faults", {"throttle_next": 1, "retry_after": 7})
    with pytest.raises(stripe.RateLimitError) as info:
        create(client)
    assert info.value.http_status == 429
    assert info.value.headers["Retry-After"] == "7"
    assert info.value.error.code == "rate_limit"
    assert info.value.error.type == "invalid_request_error"
    assert create(client).status == "open"


def test_dropped_answer_after_the_call_ran(client, api, emulator):
    api.control("POST", "api_faults", {"drop_next": 1})
    with pytest.raises(stripe.APIConnectionError):
        client.v1.checkout.sessions.create(
            params=session_params(), options={"idempotency_key": "drop-1"}
        )
    assert len(emulator.store.state["sessions"]) == 1  # the session was made all the same
    again = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "drop-1"}
    )
    assert list(emulator.store.state["sessions"]) == [again.id]


def test_rate_limit_mode_per_endpoint_and_overall(client, api, emulator):
    api.control("POST", "api_faults", {"rate_limit": True, "rate_limit_endpoint": 3})
    session = create(client)
    for _ in range(3):
        client.v1.checkout.sessions.retrieve(session.id)
    with pytest.raises(stripe.RateLimitError) as info:
        client.v1.checkout.sessions.retrieve(session.id)
    assert info.value.error.code == "rate_limit" and "rate limit" in info.value.user_message
    # the same route with another id is the same endpoint; another route is not
    with pytest.raises(stripe.RateLimitError):
        client.v1.checkout.sessions.retrieve("cs_test_other")
    assert client.v1.checkout.sessions.list().object == "list"
    time.sleep(1.05)
    client.v1.checkout.sessions.retrieve(session.id)

    api.control("POST", "api_faults", {"rate_limit_global": 2, "rate_limit_endpoint": 25})
    time.sleep(1.05)
    client.v1.events.list()
    client.v1.checkout.sessions.list()
    with pytest.raises(stripe.RateLimitError):
        client.v1.refunds.list()
    assert api.control("GET", "api_faults/injected")[1]["rate_limit"] == 3


def test_rate_limit_default_is_stripes_sandbox_limit(api, emulator):
    api.control("POST", "api_faults", {"rate_limit": True})
    statuses = [api.get("/v1/events")[0] for _ in range(30)]
    assert statuses.count(200) == 25 and statuses[25:] == [429] * 5


def test_faults_reset_and_validation(api, emulator):
    api.control("POST", "api_faults", {"error_rate": 1.0, "paths": ["/v1/events"]})
    assert api.get("/v1/events")[0] == 500
    assert api.get("/v1/checkout/sessions")[0] == 200
    status, faults = api.control("DELETE", "api_faults")
    assert status == 200 and faults["error_rate"] == 0.0 and faults["paths"] == []
    assert api.get("/v1/events")[0] == 200
    api.control("POST", "api_faults", {"error_rate": 1.0})
    api.control("POST", "reset")
    assert api.get("/v1/events")[0] == 200
    for bad in (
        {"nonsense": 1},
        {"error_rate": 2},
        {"error_status": 418},
        {"paths": ["v1"]},
        {"latency": -1},
        {"rate_limit": "yes"},
        {"rate_limit_global": 0},
    ):
        status, body = api.control("POST", "api_faults", bad)
        assert status == 400 and "error" in body, bad


def test_start_up_faults_are_what_reset_returns_to():
    emu = Emulator(api_faults={"error_rate": 1.0, "error_status": 503})
    try:
        api = Api(emu.start())
        assert api.get("/v1/events")[0] == 503
        api.control("POST", "api_faults", {"error_rate": 0})
        assert api.get("/v1/events")[0] == 200
        api.control("DELETE", "api_faults")
        assert api.get("/v1/events")[0] == 503
    finally:
        emu.stop()


def test_api_requests_are_counted_by_endpoint_and_cleared(client, api, emulator):
    """What the shop asked of Stripe, for the benchmarks: every /v1/ call, faulted or not,
    by endpoint; controls and the hosted page are not counted."""
    session = create(client)
    client.v1.checkout.sessions.retrieve(session.id)
    api.control("POST", "api_faults", {"error_next": 1})
    with pytest.raises(stripe.APIError):
        client.v1.checkout.sessions.retrieve(session.id)
    api.pay(session.id)

    status, counted = api.control("GET", "api_requests")
    assert status == 200
    assert counted == {
        "total": 3,
        "by_endpoint": {
            "POST /v1/checkout/sessions": 1,
            "GET /v1/checkout/sessions/{id}": 2,
        },
    }
    assert api.control("DELETE", "api_requests")[1]["total"] == 3
    assert api.control("GET", "api_requests")[1] == {"total": 0, "by_endpoint": {}}
