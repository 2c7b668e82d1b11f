"""Playwright driving Debian's Chromium against a live server.

Every test here is marked `browser`; tests/conftest.py skips them where Chromium is
missing. Screenshots land in artifacts/screenshots/ (git-ignored) to be looked at.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import CHROMIUM

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; the test's own ORM
    # calls are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh context (its own cookies), optionally signed in as `user`."""
    contexts = []

    def open_page(user=None, *, width: int = 1280, height: int = 900):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        if user is not None:
            from django.test import Client

            client = Client()
            client.force_login(user)
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": live_server.url,
                    }
                ]
            )
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot(request):
    """screenshot(page, "step") saves artifacts/screenshots/<test>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prefix = re.sub(r"[^\w.-]+", "_", request.node.name)

    def take(page, step: str) -> Path:
        path = SCREENSHOTS / f"{prefix}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def stripe_process(live_server, settings):
    """The Stripe emulator as its own process, sending signed webhooks to the live server.

    Yields a StripeHarness on it (pay, events, control) and points the shop at it.
    """
    import socket
    import subprocess
    import sys
    import time

    import requests

    from tests.stripe_harness import StripeHarness

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webhook-url",
            f"{live_server.url}/webhooks/stripe/",
            "--webhook-secret",
            settings.STRIPE_WEBHOOK_SECRET,
            "--retry-delays",
            "0.2,0.4,0.8,1.6",
            "--async-delay",
            "3",
        ],
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"{base_url}/_emulator/faults", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the Stripe emulator did not start") from None
                time.sleep(0.1)
        settings.STRIPE_API_BASE = base_url
        settings.CSP_FORM_ACTION = [*settings.CSP_FORM_ACTION, base_url]
        yield StripeHarness(None, base_url)
    finally:
        process.terminate()
        process.wait(timeout=10)
