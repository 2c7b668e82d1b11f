"""Settings for the benchmarks: the shop's own production settings, plus

- a URLconf with a bare view, the framework's ceiling measured in the same run, and
  /bench/stack/, which says what a server runs (bench/urls.py);
- static files collected into bench/.static/<server>/, so that the benchmarks never
  touch the shop's own staticfiles/;
- switches read only here, for the comparison variants (bench/README.md):
  BENCH_DB_POOL=0 drops psycopg 3's connection pool (the shop without it; and
  psycopg2, which has none, in bench/.venv-psycopg2); BENCH_STATIC_SERVER=servestatic
  puts servestatic's middleware and storage where WhiteNoise's are (servestatic is
  installed in bench/.venv-extras only); BENCH_STRIPE_STALL=1 keeps a stalled
  Stripe stalled (the breaker never opens, no per-shopper checkout limit: the Stripe
  stall benchmark's eight checkouts go on waiting on it); BENCH_HOLD_DB_CONNECTIONS=1
  keeps the database connection through Stripe calls (the shop before it gave them
  back: STRIPE_RELEASE_DB_CONNECTIONS off);
- no checkout limit per client address: every buyer of every benchmark comes from
  127.0.0.1 (but bench.multihost's, BENCH_ADDRESS_LIMIT=1).

Everything else, DEBUG off and the pool's sizes included, is config.settings as
deployed. The harness (bench/harness.py) sets the environment these settings read.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, DATABASES, MIDDLEWARE, STORAGES, env_bool

# All the benchmarks' buyers share one address; the per-shopper limit stays.
# The multi-host benchmark's buyers come through the proxy, each from an address of its
# own: it keeps the shop's limit per address (BENCH_ADDRESS_LIMIT=1), to show that the
# limit counts shoppers, not the proxy.
if not env_bool("BENCH_ADDRESS_LIMIT", False):
    CHECKOUT_RATE_LIMIT_PER_ADDRESS = None
if env_bool("BENCH_STRIPE_STALL", False):
    STRIPE_BREAKER_FAILURES = 10**9
    CHECKOUT_RATE_LIMIT_PER_USER = None
STRIPE_RELEASE_DB_CONNECTIONS = not env_bool("BENCH_HOLD_DB_CONNECTIONS", False)

ROOT_URLCONF = "bench.urls"

WHITENOISE_MIDDLEWARE = "whitenoise.middleware.WhiteNoiseMiddleware"
BENCH_STATIC_SERVER = os.environ.get("BENCH_STATIC_SERVER", "whitenoise")
if BENCH_STATIC_SERVER == "servestatic":
    # The same place in the chain (just after SecurityMiddleware, where the docs of
    # both put it), the same kind of storage. servestatic is whitenoise's ASGI fork:
    # https://archmonger.github.io/ServeStatic/
    MIDDLEWARE = [
        "servestatic.middleware.ServeStaticMiddleware" if name == WHITENOISE_MIDDLEWARE else name
        for name in MIDDLEWARE
    ]
    STORAGES = {
        **STORAGES,
        "staticfiles": {"BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"},
    }
elif BENCH_STATIC_SERVER != "whitenoise":
    raise ImproperlyConfigured("BENCH_STATIC_SERVER must be whitenoise or servestatic")
STATIC_ROOT = BASE_DIR / "bench" / ".static" / BENCH_STATIC_SERVER

if not env_bool("BENCH_DB_POOL", True):
    # A connection per request, opened and closed (CONN_MAX_AGE 0): Django's default.
    DATABASES["default"]["OPTIONS"].pop("pool", None)
elif DATABASES["default"]["OPTIONS"].get("pool"):
    try:
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        raise ImproperlyConfigured(
            "this interpreter has no psycopg 3 pool (psycopg2?): set BENCH_DB_POOL=0"
        ) from exc
