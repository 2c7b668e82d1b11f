"""Settings for the shop.

The environment is read here and nowhere else. Defaults are the safe production
choice; development conveniences switch on only with DJANGO_DEBUG=1. Every variable
is listed, with a comment, in .env.example.
"""

from copy import deepcopy
from email.utils import parseaddr
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    STRIPE_OWN_API_BASE,
    env,
    env_bool,
    env_int,
    env_list,
    is_stripe_api_base,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # git-ignored: SQLite database, uploaded media, logs


DEBUG = env_bool("DJANGO_DEBUG", False)
TESTING = env_bool("DJANGO_TESTING", False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG else "")
# https://docs.djangoproject.com/en/5.2/ref/settings/#csrf-trusted-origins
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# The shop as its emails and contact page name it.
SHOP_NAME = env("SHOP_NAME", "Fieldnote Supply")
# Where the shop is reached, for the links in emails, which are sent by the worker with
# no request to take a host from. Defaults to the first allowed host over https.
SHOP_BASE_URL = env(
    "SHOP_BASE_URL",
    "http://127.0.0.1:8000"
    if (DEBUG or TESTING) or not ALLOWED_HOSTS
    else f"https://{ALLOWED_HOSTS[0].lstrip('.')}",
).rstrip("/")
if urlparse(SHOP_BASE_URL).scheme not in ("http", "https") or not urlparse(SHOP_BASE_URL).netloc:
    raise ImproperlyConfigured(f"SHOP_BASE_URL must be an http(s) address, got {SHOP_BASE_URL!r}")
# The postal address on the contact page and at the foot of every email; commas
# separate its lines. Distance sellers in the EU must give one.
SHOP_ADDRESS = env(
    "SHOP_ADDRESS", "Fieldnote Supply, 12 Harbour Road, Galway H91 X2Y3, Ireland" if DEBUG else ""
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Wraps the template loaders so that "page.html#partial" can be rendered.
    "template_partials",
    "django_htmx",
    # The theme comes before allauth so that its allauth layouts and elements win.
    "tailwind",
    "theme",
    "allauth",
    "allauth.account",
    # Background tasks (emails): the backport of Django 6's django.tasks, with its
    # database backend. theme/emails.py says why.
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "catalog",
    "checkout",
    "dashboard",
]

MIDDLEWARE = [
    # First: the client's address and scheme, from the proxy's headers only when the
    # request came from the proxy (TRUSTED_PROXIES, theme/forwarded.py).
    "theme.forwarded.ForwardedMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files with hashed, compressed names. WhiteNoise over servestatic: faster
    # for every request in this sync middleware chain (BENCHMARKS.md).
    # https://whitenoise.readthedocs.io/en/stable/django.html
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "theme.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "theme.middleware.HtmxMessagesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "theme.context_processors.shop",
                "checkout.context_processors.cart",
            ],
        },
    },
]

# Database: SQLite by default (embedded, nothing to set up); PostgreSQL via DATABASE_URL.
# https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    _parsed = dj_database_url.parse(DATABASE_URL, conn_health_checks=True)
    if _parsed["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES = {"default": sqlite_database(_parsed["NAME"], _parsed.get("OPTIONS"))}
    else:
        # dj-database-url's DBConfig is a TypedDict; the setting is a plain dict.
        DATABASES = {"default": cast("dict[str, Any]", _parsed)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3's pool: a request borrows an open connection instead of forking a
        # PostgreSQL backend, and a sale-day burst waits for one instead of exhausting
        # max_connections (BENCHMARKS.md). CONN_MAX_AGE stays 0, as the pool requires.
        # https://docs.djangoproject.com/en/5.2/ref/databases/#connection-pool
        _pool_size = env_int("DATABASE_POOL_SIZE", 4)
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, _pool_size),
            "max_size": _pool_size,
            "timeout": 20,
        }
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {"default": sqlite_database(VAR_DIR / "db.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Cache: per-process memory by default; Redis when several processes must share
# rate limits, the breaker and sessions (read from Redis, kept in the database too).
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    _redis: dict[str, Any] = {
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "shop",
        # A Redis that stops answering costs a request a second, not the OS's timeout.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    CACHES: dict[str, dict[str, Any]] = {
        # While Redis cannot be reached, each process's memory stands in (theme/cache.py).
        "default": {"BACKEND": "theme.cache.FallbackRedisCache", **deepcopy(_redis)},
        # Sessions' cached copies: always Redis, one pool with the default's; theme/sessions
        # falls back to the database on each call that fails.
        "sessions": {"BACKEND": "theme.cache.SharedPoolRedisCache", **deepcopy(_redis)},
    }
    SESSION_CACHE_ALIAS = "sessions"
    # Read from Redis, kept in the database; on without Redis (theme/sessions.py).
    SESSION_ENGINE = "theme.sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each process's own memory, for what is cheap to rebuild and must be fast to read,
# never shared state. (The catalog's kept pages live in catalog.kept, which does not
# pickle them.)
CACHES["local"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "local",
    "OPTIONS": {"MAX_ENTRIES": 500},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # allauth's backend, reading the shopper with their cart's unit count (checkout.auth).
    "checkout.auth.ShopperBackend",
    # These two load the sessions signed in before ShopperBackend, which name them
    # (a password sign-in named ModelBackend; a sign-up or a login link, allauth's).
    # Sessions last SESSION_COOKIE_AGE (two weeks): after that they may go, and a failed
    # sign-in is checked by one backend instead of three.
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: email is the login; https://docs.allauth.org/en/latest/account/configuration.html
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# "optional" sends a verification email but lets the shopper in; "mandatory" waits.
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SESSION_REMEMBER = None  # ask with the "Remember me" box
# allauth's emails in the shop's name and at SHOP_BASE_URL: the sites framework is not
# installed, so allauth would otherwise name the shop after the request's host.
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SHOP_NAME}] "
ACCOUNT_ADAPTER = "accounts.adapter.ShopAccountAdapter"
# allauth's rate limits stay on (ACCOUNT_RATE_LIMITS default); they live in the cache.
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

LANGUAGE_CODE = "en-us"
# Times are stored in UTC (USE_TZ) and shown in the shop's own zone, in pages and
# emails. Europe/Dublin: the shop sells in euros from Ireland; it is UTC in winter.
TIME_ZONE = env("SHOP_TIME_ZONE", "Europe/Dublin")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"SHOP_TIME_ZONE {TIME_ZONE!r} is not an IANA time zone") from exc
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
# Whether Django itself serves MEDIA_ROOT at /media/ (django.views.static.serve, which
# Django's docs call unfit for production): in development and tests. In production the
# proxy serves the uploaded images from the volume it shares with the web processes
# (deploy/nginx/, docker-compose.yml).
SERVE_MEDIA = env_bool("DJANGO_SERVE_MEDIA", DEBUG or TESTING)
# The proxies in front of the shop, comma-separated addresses or networks: only a
# request from one of them may say, in X-Forwarded-For and X-Forwarded-Proto, who the
# client is and whether it came over HTTPS (theme/forwarded.py). The default is a proxy
# on this host; docker-compose.yml names its proxy's fixed address.
TRUSTED_PROXIES = env_list("DJANGO_TRUSTED_PROXIES", "127.0.0.1,::1")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

if DEBUG or TESTING:
    # Served from the apps' static folders (no collectstatic needed).
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True

TAILWIND_APP_NAME = "theme"

# Email: console in development, SMTP when EMAIL_HOST is set.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"{SHOP_NAME} <shop@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Where shoppers write to (contact page, Reply-To of every email); the sender's address
# unless set.
SHOP_CONTACT_EMAIL = env("SHOP_CONTACT_EMAIL", parseaddr(DEFAULT_FROM_EMAIL)[1])
# Who is told of each new paid order, comma-separated; empty: nobody.
ORDER_ALERT_EMAILS = env_list("ORDER_ALERT_EMAILS")
# Seconds a mail server may take to answer before the send fails and is retried later.
EMAIL_TIMEOUT = 30

# Background tasks (django-tasks, the backport of Django 6's django.tasks). The database
# backend writes a queued task as a row in the caller's transaction: it commits or rolls
# back with the change it reports. `manage.py db_worker` runs them, claiming rows with
# SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers never share one.
# https://github.com/RealOrangeOne/django-tasks-db
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Payments. With STRIPE_API_BASE set, the Stripe SDK talks to the local emulator.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "sk_test_emulator" if (DEBUG or TESTING) else "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "whsec_emulator" if (DEBUG or TESTING) else "")
STRIPE_API_BASE = env("STRIPE_API_BASE")
if not (DEBUG or TESTING) and not (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required")
# Any address but Stripe's own (the emulator, a mock) "takes" payments that are not
# real: a production shop pointed at one would hand out goods for no money. It refuses
# to start unless told that this is meant (a staging shop, the benchmarks).
STRIPE_ALLOW_NON_STRIPE_API_BASE = env_bool("STRIPE_ALLOW_NON_STRIPE_API_BASE", False)
if (
    STRIPE_API_BASE
    and not is_stripe_api_base(STRIPE_API_BASE)
    and not (DEBUG or TESTING or STRIPE_ALLOW_NON_STRIPE_API_BASE)
):
    raise ImproperlyConfigured(
        f"STRIPE_API_BASE is {STRIPE_API_BASE!r}, not Stripe's API ({STRIPE_OWN_API_BASE}), "
        "and DJANGO_DEBUG is off: no payment taken there would be real. Unset "
        "STRIPE_API_BASE to use Stripe, or set STRIPE_ALLOW_NON_STRIPE_API_BASE=1 if this "
        "shop is meant to run against it (staging, benchmarks)."
    )
# Stripe as the remote service it is (checkout/resilience.py, DESIGN.md section 9).
# Seconds a shopper's request (checkout start, success page, cancel) may spend on Stripe,
# retries included; then the shopper reads "Payments are slow right now".
STRIPE_SHOPPER_BUDGET_SECONDS = 10
# Seconds one call from a webhook, the sweeper or a staff action may take, retries
# included (a webhook that answers 5xx is delivered again; the sweeper runs again).
STRIPE_BACKGROUND_BUDGET_SECONDS = 25
# The circuit breaker, shared by every process through the cache (Redis with REDIS_URL):
# this many timeouts, connection errors, 5xx or 429 within the window open it; while it
# is open nothing calls Stripe (checkout says payments are slow, the success page says
# "confirming"); after the cool-down one request probes, and a success closes it.
STRIPE_BREAKER_FAILURES = 5
STRIPE_BREAKER_WINDOW_SECONDS = 30
STRIPE_BREAKER_COOLDOWN_SECONDS = 30
# Database connections go back to the pool before each Stripe call, so a slow Stripe
# never holds one. Only the benchmarks turn this off, to measure what it saves.
STRIPE_RELEASE_DB_CONNECTIONS = True
# Checkout starts (each may cost Stripe an expire and a create), counted in the shared
# cache: (starts, seconds) per signed-in shopper and per client address; None: no limit.
# The address limit is looser: many shoppers can share one address (offices, mobile NAT).
CHECKOUT_RATE_LIMIT_PER_USER = (10, 600)
CHECKOUT_RATE_LIMIT_PER_ADDRESS = (60, 600)
# Seconds a web process remembers a product it found sold out, refusing checkouts of it
# without asking the database (checkout/services/start.py): a flash sale's hundreds of
# late buyers. Refusals only; a unit coming back is offered again at most this late.
# 0 in tests, which change stock between checkouts.
CHECKOUT_SOLD_OUT_MEMO_SECONDS = 0 if TESTING else 1
# The shop's one currency, as Stripe names it (lower case; theme/money.py lists Stripe's).
# Prices keep the currency they were entered in: after a change the shop refuses to start
# until `manage.py convert_prices` has converted (or relabelled) them.
SHOP_CURRENCY = env("SHOP_CURRENCY", "eur").strip().lower()
# How prices are written and read, a Babel locale. en_US shows "€16.00", "$19.99", "¥500".
SHOP_LOCALE = env("SHOP_LOCALE", "en_US")
# The smallest order total, e.g. "2.00" ("." as decimal point); empty: Stripe's minimum for
# the currency. Needed for a currency without one in Stripe's table (theme/money.py).
SHOP_MINIMUM_CHARGE = env("SHOP_MINIMUM_CHARGE", "")

# How long a checkout holds stock. Stripe's Checkout Sessions live at least 30 minutes.
STOCK_HOLD_MINUTES = env_int("STOCK_HOLD_MINUTES", 30)
if STOCK_HOLD_MINUTES < 30:
    raise ImproperlyConfigured("STOCK_HOLD_MINUTES must be at least 30 (Stripe's minimum)")
# Reservations outlive their session a little, so that a payment made in the
# session's last second still finds its hold.
STOCK_HOLD_GRACE_MINUTES = 5
# A delayed payment method (bank debit) confirms within days; its hold is kept that long.
STOCK_HOLD_ASYNC_HOURS = env_int("STOCK_HOLD_ASYNC_HOURS", 72)
# The sweeper reconciles pending orders through Stripe once they are this old.
SWEEP_RECONCILE_AFTER_MINUTES = 5
# Badge says "Only N left" at or below this (what shoppers see).
LOW_STOCK_THRESHOLD = 5
# A new product's reorder level (what staff see): a sale that takes a product's stock on
# hand to its level or below emails STOCK_ALERT_EMAILS, once per crossing.
STOCK_REORDER_LEVEL = env_int("STOCK_REORDER_LEVEL", 3)
# Who gets low-stock emails (comma-separated); empty: nobody.
STOCK_ALERT_EMAILS = env_list("STOCK_ALERT_EMAILS")
# Stripe Tax: with STRIPE_TAX_ENABLED, Stripe computes tax at checkout (automatic_tax).
# TAX_BEHAVIOR says whether the shop's prices include tax ("inclusive", as EU shops show
# them) or have it added ("exclusive"); each product may carry its own tax code, else the
# default (txcd_99999999: general tangible goods). https://docs.stripe.com/tax/tax-codes
STRIPE_TAX_ENABLED = env_bool("STRIPE_TAX_ENABLED", False)
TAX_BEHAVIOR = env("TAX_BEHAVIOR", "inclusive")
if TAX_BEHAVIOR not in ("inclusive", "exclusive"):
    raise ImproperlyConfigured("TAX_BEHAVIOR must be 'inclusive' or 'exclusive'")
STRIPE_TAX_DEFAULT_CODE = env("STRIPE_TAX_DEFAULT_CODE", "txcd_99999999")
# Promotion codes (created by staff in Stripe's dashboard) accepted at checkout.
STRIPE_ALLOW_PROMOTION_CODES = env_bool("STRIPE_ALLOW_PROMOTION_CODES", False)
# Countries Stripe Checkout may ship to (ISO codes, comma-separated).
SHIPPING_COUNTRIES = [
    code.upper()
    for code in env_list(
        "SHIPPING_COUNTRIES", "IE,GB,DE,FR,NL,BE,LU,AT,ES,PT,IT,DK,SE,FI,PL,CZ,US,CA"
    )
]
# The most units of one product a cart line may hold.
CART_MAX_QUANTITY = env_int("CART_MAX_QUANTITY", 10)
CATALOG_PAGE_SIZE = 24
# Seconds between two refreshes of a page's stock badges (one request per page).
STOCK_POLL_SECONDS = 5
# Seconds an anonymous visitor's catalog page is served from memory (0: never). Its
# badges are then at most this much older than the database; the badge poller and
# the checkout's own check under lock keep them honest.
CATALOG_PAGE_CACHE_SECONDS = env_int("CATALOG_PAGE_CACHE_SECONDS", 2)

# Security. https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SESSION_COOKIE_HTTPONLY = True
# With Redis: how long a session's cached copy lives at most (theme/sessions.py).
SESSION_CACHE_SECONDS = 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Health checks (the container's own, a load balancer's) talk plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (theme.middleware): no inline script anywhere. Forms may
# post to the shop and be redirected to Stripe's hosted checkout (or the emulator).
CSP_FORM_ACTION = ["'self'", "https://checkout.stripe.com"]
if STRIPE_API_BASE:
    _api = urlparse(STRIPE_API_BASE)
    CSP_FORM_ACTION.append(f"{_api.scheme}://{_api.netloc}")
if _checkout_origin := env("STRIPE_CHECKOUT_ORIGIN"):
    CSP_FORM_ACTION.append(_checkout_origin)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django": {
            "handlers": ["console"],
            "level": env("DJANGO_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
        # The SDK logs every request at INFO.
        "stripe": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

if TESTING:
    # https://docs.djangoproject.com/en/5.2/topics/testing/overview/#password-hashing
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
