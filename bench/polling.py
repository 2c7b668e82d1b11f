"""Benchmark 2: what one open catalog page costs the server in polling.

    python -m bench.polling [--poll-seconds 30]

Computed from the page itself (the poller's `hx-trigger="every Ns"` and the badges
it covers): one poller per page against one poller per badge. Measured by keeping the
page open in headless Chromium and counting the badge requests it makes; halfway
through, one product's stock changes, so the count shows the 304s of an unchanged
page and the one 200 that carries a change (and the page shows the new badge).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time

from bench import harness
from bench.harness import Options, Section, step

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def _in_thread(function) -> None:
    """Run an ORM call outside Playwright's event loop (Django refuses it inside)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def measure_page(server: harness.Server, *, seconds: float, product_id: int) -> dict:
    """Keep the catalog open for `seconds`; change `product_id`'s stock halfway."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    from catalog.models import Product

    def stock_change() -> None:
        Product.objects.filter(pk=product_id).update(stock_on_hand=3)
        connections.close_all()

    polls: list[tuple[float, int, int]] = []  # (seconds since load, status, body bytes)
    requests_made: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(extra_http_headers=harness.PROXY_HEADERS)
            page = context.new_page()
            loaded = [0.0]

            def on_response(response) -> None:
                if "/products/badges/" in response.url:
                    size = int(response.headers.get("content-length") or 0)
                    polls.append((time.monotonic() - loaded[0], response.status, size))

            page.on("request", lambda request: requests_made.append(request.url))
            page.on("response", on_response)
            page.goto(server.base_url + "/", wait_until="load")
            loaded[0] = time.monotonic()
            before = page.locator(f"#stock-badge-{product_id}").inner_text().strip()
            page.wait_for_timeout(seconds * 500)
            _in_thread(stock_change)
            changed_at = time.monotonic() - loaded[0]
            page.wait_for_timeout(seconds * 500)
            after = page.locator(f"#stock-badge-{product_id}").inner_text().strip()
            foreign = [u for u in requests_made if not u.startswith(server.base_url)]
        finally:
            browser.close()
    return {
        "seconds": seconds,
        "polls": polls,
        "requests_total": len(requests_made),
        "requests_elsewhere": foreign,
        "stock_changed_at": changed_at,
        "badge_before": " ".join(before.split()),
        "badge_after": " ".join(after.split()),
    }


def run(options: Options) -> dict:
    from bench.catalog import catalog_seed, probe

    section = Section("2. Polling: requests per minute from one open catalog page")
    harness.django_setup()
    with step("fresh database, 48 demo products, collectstatic"):
        harness.database_reset()
        catalog_seed()
        harness.collectstatic("whitenoise")
    from catalog.models import Product

    with harness.Processes() as processes:
        server = harness.Server(
            "polling",
            label="as configured: psycopg 3 + pool, whitenoise, config.serve",
            expect={"driver": "psycopg", "pool": True, "static": "whitenoise"},
        )
        with step("starting the shop (uvicorn, 2 workers)"):
            processes.start(server)
        found = probe(server)
        ids = [int(i) for i in found.badge_ids.split(",")]
        badges = len(ids)
        per_page = 60 / found.poll_seconds
        per_badge = badges * per_page
        section.say(
            f"the page's poller: every {found.poll_seconds} s, for {badges} badges "
            f"({found.products_on_page} products on the page)"
        )
        section.say(
            harness.table(
                ["computed", "requests/minute", "per hour"],
                [
                    ["one poller for the page (as built)", per_page, per_page * 60],
                    ["one poller per badge (the alternative)", per_badge, per_badge * 60],
                ],
            )
        )
        section.say(f"one poller per page: {per_badge / per_page:.0f}x fewer requests")
        result: dict = {
            "poll_seconds": found.poll_seconds,
            "badges": badges,
            "computed_per_page_per_minute": per_page,
            "computed_per_badge_per_minute": per_badge,
            "ratio": per_badge / per_page,
        }
        if chromium_path() is None:
            section.say(harness.CHROMIUM_MISSING)
            section.say("(measured part skipped)")
            result["lines"] = section.lines
            return result
        target = (
            Product.objects.with_availability()
            .filter(pk__in=ids, stock_on_hand__gt=10, available__gt=10)
            .values_list("pk", flat=True)
            .first()
        )
        with step(f"headless Chromium on the catalog for {options.poll_seconds:.0f} s"):
            seen = measure_page(server, seconds=options.poll_seconds, product_id=target)

    statuses = [status for _, status, _ in seen["polls"]]
    count = len(statuses)
    measured = count * 60 / seen["seconds"]
    section.say(
        f"measured: {count} badge requests in {seen['seconds']:.0f} s = {measured:.1f} per "
        f"minute ({statuses.count(304)} x 304 without a body, {statuses.count(200)} x 200, "
        f"{count - statuses.count(304) - statuses.count(200)} other); "
        f"{measured / per_page:.2f}x the computed rate"
    )
    changed = [(t, s, size) for t, s, size in seen["polls"] if s == 200]
    for at, _, size in changed:
        section.say(
            f"  200 at {at:.1f} s ({size:,} bytes): stock changed at "
            f"{seen['stock_changed_at']:.1f} s"
        )
    section.say(f"badge of product {target}: '{seen['badge_before']}' -> '{seen['badge_after']}'")
    if seen["requests_elsewhere"]:
        section.say(f"WARNING: requests to other hosts: {seen['requests_elsewhere'][:3]}")
    result.update(
        measured_per_minute=measured,
        measured=seen,
        status_counts={str(s): statuses.count(s) for s in set(statuses)},
        lines=section.lines,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command("polling", __doc__, run, argv, lambda result: 0)


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
