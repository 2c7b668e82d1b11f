"""The benchmarks' own arithmetic and parsing (no server, no timing)."""

import json
import os
import socket
import types

import pytest
import stripe

from bench import harness
from bench.catalog import compare
from bench.flash_sale import outcome
from bench.harness import Timed, WrkResult
from bench.webhooks import DELIVERIES, UNIQUE, deliveries_plan

WRK_OUTPUT = """Running 4s test @ http://127.0.0.1:8123/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.01ms    3.20ms  40.10ms   80.00%
    Req/Sec   650.00     40.00   700.00     70.00%
  Latency Distribution
     50%  950.00us
     75%   12.00ms
     90%   14.00ms
     99%    1.20s
  2604 requests in 4.01s, 1.20MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    649.38
Transfer/sec:    306.00KB
"""


def test_wrk_output_is_read_with_units_converted_to_milliseconds():
    result = WrkResult.parse(WRK_OUTPUT)

    assert result.rps == pytest.approx(649.38)
    assert result.p50_ms == pytest.approx(0.95)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.requests == 2604
    assert result.seconds == pytest.approx(4.01)
    assert result.errors == 1 + 2 + 4


def test_wrk_output_without_latency_distribution_is_refused():
    with pytest.raises(ValueError):
        WrkResult.parse("Requests/sec: 10\n  10 requests in 1.00s, 1KB read\n")


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))

    assert harness.percentile(values, 50) == 50
    assert harness.percentile(values, 95) == 95
    assert harness.percentile([7.0], 99) == 7.0
    assert harness.percentile([], 50) != harness.percentile([], 50)  # NaN


def test_signature_is_accepted_by_stripes_own_verification():
    payload = json.dumps({"id": "evt_1", "object": "event"}).encode()
    header = harness.stripe_signature(payload, "whsec_test")

    assert stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_test", 300)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:80/", "http://example.com:80/", "https://127.0.0.1:8000/"]
)
def test_only_loopback_addresses_are_accepted(url):
    with pytest.raises(ValueError):
        harness._split(url)


def test_storm_plan_has_every_event_once_plus_duplicates_to_one_thousand():
    events = [{"id": f"evt_{i}", "data": {"object": {"id": f"cs_{i}"}}} for i in range(UNIQUE)]

    plan = deliveries_plan(events, seed=1)

    assert len(plan) == DELIVERIES
    ids = [json.loads(payload)["id"] for payload in plan]
    assert set(ids) == {event["id"] for event in events}
    assert len(ids) - len(set(ids)) == DELIVERIES - UNIQUE
    assert plan == deliveries_plan(events, seed=1)


def test_checkout_answers_are_told_apart_by_where_they_redirect():
    emulator = "http://127.0.0.1:12111"
    results = [
        Timed(302, 0.5, location=f"{emulator}/pay/cs_1"),
        Timed(302, 0.4, location="/cart/"),
        Timed(500, 0.3),
        Timed(0, 0.0, error="connection reset"),
    ]

    figures = outcome(results, emulator)

    assert (figures["holds"], figures["refused"], figures["errors"]) == (1, 1, 2)


def test_psycopg2_venv_gets_the_dev_lock_without_psycopg3(tmp_path):
    (tmp_path / "runtime.lock").write_text(
        "# runtime\nDjango==5.2.19\npsycopg[binary]==3.3.9\nPsycopg_Pool==3.3.3  # pool\n"
        "psycopg-binary==3.3.9\nwhitenoise==6.12.0\n"
    )
    (tmp_path / "dev.lock").write_text("-r runtime.lock\n\npytest==9.2.0\n")

    lines = harness.lock_requirements(
        tmp_path / "dev.lock", excluded=harness.PSYCOPG3_DISTRIBUTIONS
    )

    assert lines == ["Django==5.2.19", "whitenoise==6.12.0", "pytest==9.2.0"]


def test_psycopg2_venv_requirements_from_the_real_lock_files_have_no_psycopg3():
    lines = harness.lock_requirements(
        harness.BASE_DIR / "requirements-dev.lock", excluded=harness.PSYCOPG3_DISTRIBUTIONS
    )
    names = {line.split("==")[0].lower() for line in lines}

    assert {"django", "uvicorn", "whitenoise", "pytest"} <= names
    assert not {name for name in names if name.startswith("psycopg")}
    assert harness.PSYCOPG2_VENV.packages == ("psycopg2-binary==2.9.13",)


def test_server_stack_must_match_what_the_variant_says_it_runs():
    configured = {"driver": "psycopg", "pool": {"max_size": 4}, "static": "whitenoise"}

    assert harness.stack_mismatches(configured, {"driver": "psycopg", "pool": True}) == {}
    assert harness.stack_mismatches(configured, {"pool": None}) == {"pool": {"max_size": 4}}
    assert harness.stack_mismatches({**configured, "pool": None}, {"pool": True}) == {"pool": None}
    assert harness.stack_mismatches(configured, {"static": "servestatic"}) == {
        "static": "whitenoise"
    }


@pytest.mark.parametrize(
    ("paired", "expected"),
    [
        ({"bare": 1.02, "catalog": 0.97}, "same"),
        ({"bare": 1.20, "catalog": 1.01}, "faster"),
        ({"bare": 0.80, "catalog": 1.03}, "slower"),
        ({"bare": 0.80, "catalog": 1.10}, "mixed"),
    ],
)
def test_variant_is_faster_only_beyond_noise_and_nowhere_slower(paired, expected):
    assert compare(paired) == expected


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux /proc only")
def test_established_connections_are_counted_per_worker_process():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    worker = types.SimpleNamespace(
        port=listener.getsockname()[1],
        popen=types.SimpleNamespace(pid=-1),  # the supervisor, not counted
        group_pids=lambda: [os.getpid()],
    )
    try:
        assert harness.worker_connections(worker) == [1]  # the accepted end, not the listener
    finally:
        for sock in (accepted, client, listener):
            sock.close()


def test_a_measurement_counts_only_when_every_worker_held_connections():
    assert harness.every_worker_used([3, 5], workers=2)
    assert not harness.every_worker_used([0, 8], workers=2)
    assert not harness.every_worker_used([8], workers=2)
    assert not harness.every_worker_used([], workers=2)
