"""A production shop (DJANGO_DEBUG off) refuses to start with a STRIPE_API_BASE that is
not Stripe's, unless STRIPE_ALLOW_NON_STRIPE_API_BASE=1 says it is meant: a stray
emulator address must never hand out goods for no money.

Settings are read once per process, so each case starts the shop's ASGI application in
a fresh interpreter with its own environment, the way uvicorn starts it."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

from config.env import is_stripe_api_base

EMULATOR = "http://127.0.0.1:12111"
START_THE_SHOP = "import config.asgi; print('started')"


def production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "STRIPE_", "DATABASE_", "REDIS_URL", "BENCH_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 20 + "a-long-and-random-production-secret-key-0123456789",
        DJANGO_ALLOWED_HOSTS="shop.example.com",
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_WEBHOOK_SECRET="whsec_123",
    )
    env.update(extra)
    return env


def start(env: dict[str, str], code: str = START_THE_SHOP) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_shop_pointed_at_the_emulator_refuses_to_start():
    result = start(production_env(STRIPE_API_BASE=EMULATOR))

    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert f"STRIPE_API_BASE is '{EMULATOR}'" in result.stderr
    assert "STRIPE_ALLOW_NON_STRIPE_API_BASE=1" in result.stderr


@pytest.mark.parametrize("value", ["0", "no", ""])
def test_an_opt_in_that_is_not_yes_still_refuses(value):
    result = start(production_env(STRIPE_API_BASE=EMULATOR, STRIPE_ALLOW_NON_STRIPE_API_BASE=value))

    assert result.returncode != 0
    assert "STRIPE_ALLOW_NON_STRIPE_API_BASE=1" in result.stderr


def test_production_shop_starts_on_the_emulator_with_the_opt_in():
    result = start(production_env(STRIPE_API_BASE=EMULATOR, STRIPE_ALLOW_NON_STRIPE_API_BASE="1"))

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_shop_starts_on_the_emulator_without_the_opt_in():
    result = start(production_env(STRIPE_API_BASE=EMULATOR, DJANGO_DEBUG="1"))

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("base", ["https://api.stripe.com", "https://api.stripe.com/", ""])
def test_production_shop_starts_on_stripes_own_address(base):
    result = start(production_env(STRIPE_API_BASE=base))

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    "base",
    [
        "https://api.stripe.com",
        "https://api.stripe.com/",
        "https://API.Stripe.com",
        "https://api.stripe.com:443",
    ],
)
def test_stripes_own_api_address_is_recognised(base):
    assert is_stripe_api_base(base)


@pytest.mark.parametrize(
    "base",
    [
        EMULATOR,
        "http://api.stripe.com",  # plain http
        "https://api.stripe.com.example.net",
        "https://api.stripe.com@127.0.0.1",
        "https://user@api.stripe.com",
        "https://api.stripe.com:12111",
        "https://api.stripe.com/proxy",
        "https://checkout.stripe.com",
        "https://api.stripe.com:notaport",
        "api.stripe.com",
    ],
)
def test_look_alike_addresses_are_not_stripes(base):
    assert not is_stripe_api_base(base)


def test_benchmark_shops_opt_in_to_the_emulator():
    """bench/harness.py starts the shop with DEBUG off against the emulator."""
    from bench import harness

    env = harness.bench_env(STRIPE_API_BASE=EMULATOR)
    assert env["DJANGO_DEBUG"] == "0"

    result = start(env, "import django; django.setup(); print('started')")

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_make_run_opts_in_where_it_starts_the_emulator():
    """scripts/run.sh points the shop at an emulator it starts itself, whatever
    DJANGO_DEBUG says; it must say that this is meant."""
    script = (settings.BASE_DIR / "scripts" / "run.sh").read_text()
    block = re.search(
        r'if \[\[ -z "\$\{STRIPE_SECRET_KEY:-\}" \]\]; then\n(.*?)\nfi\n', script, re.S
    )

    assert block, "the emulator branch of scripts/run.sh was not found"
    assert "-m stripe_emulator" in block.group(1)
    assert "export STRIPE_ALLOW_NON_STRIPE_API_BASE=1" in block.group(1)
