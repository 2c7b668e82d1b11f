"""The base layout, health check, error pages and production settings."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from catalog.factories import ProductFactory
from tests.html import one
from theme.middleware import HtmxMessagesMiddleware

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "database": "ok",
        "breakers": {"stripe": "closed"},
        "cache": "local",
    }


def test_unknown_page_renders_the_themed_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"find that page" in response.content
    assert b"css/dist/styles.css" in response.content


def test_pages_send_a_csp_without_inline_script(client):
    response = client.get(reverse("catalog:index"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert b"<script>" not in response.content


def test_base_layout_has_landmarks_csrf_header_and_htmx(client):
    content = client.get(reverse("catalog:index")).content.decode()
    for landmark in ("<header", "<main", "<footer", 'aria-label="Main"'):
        assert landmark in content
    assert 'hx-headers=\'{"x-csrftoken": "' in content
    assert "django_htmx/htmx-2.min.js" in content
    assert 'id="cart-count"' in content


def _htmx_request(rf, **extra):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django_htmx.middleware import HtmxDetails

    request = rf.get("/", HTTP_HX_REQUEST="true", **extra)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request.htmx = HtmxDetails(request)
    return request


def test_messages_reach_htmx_fragments_out_of_band():
    request = _htmx_request(RequestFactory())
    messages.success(request, "Added to your cart")
    middleware = HtmxMessagesMiddleware(lambda r: HttpResponse("<p>fragment</p>"))
    content = middleware(request).content.decode()
    assert content.startswith("<p>fragment</p>")
    assert 'id="toasts"' in content and 'hx-swap-oob="beforeend"' in content
    assert "Added to your cart" in content


def test_htmx_redirects_keep_their_messages_for_the_next_page():
    request = _htmx_request(RequestFactory())
    messages.info(request, "Later")
    response = HttpResponse(status=200)
    response["HX-Redirect"] = "/cart/"
    out = HtmxMessagesMiddleware(lambda r: response)(request)
    assert b"toasts" not in out.content


def test_full_pages_render_messages_in_the_layout(client):
    region = one(client.get(reverse("catalog:index")).content.decode(), id="toasts")
    assert region.role == "status"  # the layout's live region exists even without messages
    assert region.find_all(attrs={"data-toast": None}) == []

    product = ProductFactory(name="Enamel mug")
    # A plain (not htmx) post: the message waits for the full page after the redirect.
    response = client.post(reverse("checkout:cart_add"), {"product": product.pk}, follow=True)

    toast = one(response.content.decode(), id="toasts").one(attrs={"data-toast": None})
    assert toast.find(text="Added Enamel mug to your cart.") is not None
    assert "toast-success" in toast.classes  # a success message looks like one
    again = one(client.get(reverse("catalog:index")).content.decode(), id="toasts")
    assert again.find_all(attrs={"data-toast": None}) == []  # shown once


def test_production_settings_pass_check_deploy():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "STRIPE_", "DATABASE_URL"))
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="x" * 20 + "a-long-and-random-production-secret-key-0123456789",
        DJANGO_ALLOWED_HOSTS="shop.example.com",
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_WEBHOOK_SECRET="whsec_123",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_"))}
    env.update(DJANGO_DEBUG="0", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr
