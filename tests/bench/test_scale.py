"""The scale benchmarks' own arithmetic and set-up (no server, no timing): the bare app,
the multi-host benchmark's client addresses and nginx config, the per-repetition ratios,
the CPU accounting."""

import ipaddress
import os
import re

import pytest

from bench import harness, multihost, webhooks
from bench.catalog import Variant, against_bare_app
from bench.harness import WrkResult


def wrk_result(rps: float, cpu_ms: float) -> WrkResult:
    return WrkResult(rps=rps, p50_ms=1, p99_ms=2, requests=100, errors=0, seconds=1, cpu_ms=cpu_ms)


def test_client_addresses_are_distinct_loopback_addresses_by_block():
    flash = multihost.addresses(1, 300)
    assert len(set(flash)) == 300
    assert all(ipaddress.ip_address(a).is_loopback for a in flash)
    assert set(flash).isdisjoint(multihost.addresses(2, 8))
    assert "127.1.0.1" in flash and "127.1.1.1" in flash


def test_the_nginx_template_is_rendered_as_the_image_renders_it():
    rendered = multihost.nginx_config(
        "listen ${PROXY_LISTEN}; set $x ${UNKNOWN}; proxy_set_header Host $http_host;",
        PROXY_LISTEN="127.0.0.1:8080",
    )
    # Given variables replaced; unknown ones and nginx's own $variables left alone.
    assert rendered == "listen 127.0.0.1:8080; set $x ${UNKNOWN}; proxy_set_header Host $http_host;"


def test_the_repository_template_names_only_the_variables_compose_gives_it():
    template = multihost.NGINX_TEMPLATE.read_text()
    code = "\n".join(line for line in template.splitlines() if not line.lstrip().startswith("#"))
    assert set(re.findall(r"\$\{(\w+)\}", code)) == {
        "SHOP_UPSTREAM",
        "PROXY_LISTEN",
        "MEDIA_ROOT",
        "FORWARDED_PROTO",
    }


def test_ratios_against_the_bare_app_pair_each_repetition_with_its_own_reference():
    bare_app = Variant("bare_app", "bare app", ["bare"])
    bare_app.results = {"bare": [wrk_result(1000, 2.0), wrk_result(500, 2.0)]}
    shop = Variant("configured", "shop", ["bare", "catalog"])
    shop.results = {
        "bare": [wrk_result(800, 2.5), wrk_result(400, 2.5)],
        "catalog": [wrk_result(600, 4.0), wrk_result(300, 4.0)],
    }

    found = against_bare_app(shop, bare_app)

    assert found["catalog"]["each"] == [0.6, 0.6]  # halved throughput, same ratio
    assert found["catalog"]["rps"] == pytest.approx(0.6)
    assert found["catalog"]["cpu"] == pytest.approx(0.5)  # 2.0 ms against 4.0 ms
    assert found["bare"]["rps"] == pytest.approx(0.8)


EXACT = {
    "paid": 100,
    "events_recorded": 100,
    "events_processed": 100,
    "holds_consumed": 100,
    "holds_active": 0,
    "products_with_wrong_stock": [],
    "orders_with_one_email": 100,
    "orders_with_several_emails": 0,
}


def test_the_storms_ratios_are_taken_per_repetition():
    runs = [
        {
            "events_per_second": 30.0,
            "healthz_per_second": 100.0,
            "bare_per_second": 150.0,
            "calls_per_event": 0.0,
            "cpu_ms": 10.0,
            "healthz_cpu_ms": 2.5,
            "p50_ms": 1,
            "p95_ms": 2,
            "healthz_p50_ms": 1,
            "healthz_p95_ms": 2,
            "database": EXACT,
        },
        {
            "events_per_second": 10.0,
            "healthz_per_second": 50.0,
            "bare_per_second": 80.0,
            "calls_per_event": 0.1,
            "cpu_ms": 10.0,
            "healthz_cpu_ms": 2.0,
            "p50_ms": 1,
            "p95_ms": 2,
            "healthz_p50_ms": 1,
            "healthz_p95_ms": 2,
            "database": EXACT,
        },
    ]
    summary = webhooks.summarise(runs)
    assert summary["ratio_healthz_each"] == [0.3, 0.2]
    assert summary["ratio_healthz"] == pytest.approx(0.25)
    assert summary["cpu_ratio"] == pytest.approx(0.225)
    assert summary["calls_per_event"] == pytest.approx(0.05)
    assert summary["exactly_once"]


def test_the_storm_is_130_deliveries_for_100_orders():
    assert (webhooks.UNIQUE, webhooks.DELIVERIES) == (100, 130)


def test_cpu_seconds_are_read_for_this_process():
    spent = harness.process_cpu_seconds([os.getpid()])
    sum(range(200_000))
    assert harness.process_cpu_seconds([os.getpid()]) >= spent > 0
    assert harness.process_cpu_seconds([2**22 + 12345]) == 0  # gone: counts for nothing


def test_the_bare_app_is_django_with_nothing_in_it():
    """Imported in a process of its own (it configures settings): no middleware, no
    app, no database; two bytes at /bench/bare/."""
    import subprocess
    import sys

    code = (
        "import bench.bare_app as b; from django.conf import settings; "
        "from django.test import RequestFactory; "
        "r = b.bare(RequestFactory().get('/bench/bare/')); "
        "print(settings.MIDDLEWARE, settings.INSTALLED_APPS, settings.DATABASES, r.content)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=harness.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] [] {} b'ok'"
