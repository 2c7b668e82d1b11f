"""Benchmark 4: a webhook storm. 1,000 signed `checkout.session.completed` deliveries,
30 % of them duplicates, over 8 connections.

    python -m bench.webhooks [--reps 3]

Each repetition sets up 700 real paid orders: 700 buyers check out through
`POST /checkout/` (the shop opens 700 sessions on the Stripe emulator), the emulator
is told to pay each session, and its 700 `checkout.session.completed` events are
read back from `GET /v1/events`. They are delivered with 300 duplicates mixed in, in
a shuffled order, each signed just before it is sent (Stripe-Signature: t=...,
v1=HMAC-SHA256(secret, "t.payload")). A delivery answered with 5xx is sent again, as
Stripe would. The reference is the same 1,000 posts to the bare view over 8 connections.

Afterwards the database must show every order paid once, each event recorded once,
stock down by exactly the units sold, and the server's log one confirmation email
per order.
"""

from __future__ import annotations

import json
import random
import re
import sys
import threading
from collections import Counter

from bench import harness
from bench.harness import Options, Section, median, percentile, ratio, step

DELIVERIES = 1000
DUPLICATE_SHARE = 0.3
UNIQUE = round(DELIVERIES * (1 - DUPLICATE_SHARE))  # 700 orders
CONNECTIONS = 8
PRODUCTS = 10
STOCK = 100  # per product: 70 are sold in each repetition
RETRY_ROUNDS = 3


def products_make(rep: int) -> list:
    from catalog.models import Product

    return Product.objects.bulk_create(
        Product(
            name=f"Storm item {rep}-{i}",
            slug=f"storm-item-{rep}-{i}",
            unit_amount=1200 + 100 * i,
            currency="eur",
            stock_on_hand=STOCK,
        )
        for i in range(PRODUCTS)
    )


def paid_sessions_make(server, emulator, rep: int) -> tuple[list, list[str]]:
    """700 orders through the shop's checkout, each paid on the emulator."""
    from checkout.models import Order

    products = products_make(rep)
    buyers = harness.buyers_create(
        count=UNIQUE, prefix=f"storm{rep}", carts=[{p.pk: 1} for p in products]
    )
    jobs = [("POST", "/checkout/", b"", b.headers(server.base_url)) for b in buyers]
    results, _ = harness.run_over_connections(server.base_url, jobs, connections=CONNECTIONS)
    opened = sum(1 for r in results if r.status == 302 and r.location.startswith(emulator.base_url))
    if opened != UNIQUE:
        raise RuntimeError(f"only {opened} of {UNIQUE} checkouts opened a session")
    sessions = list(
        Order.objects.filter(user_id__in=[b.user_id for b in buyers]).values_list(
            "stripe_session_id", flat=True
        )
    )
    pay = json.dumps({"card": "4242424242424242"})
    jobs = [
        ("POST", f"/_emulator/sessions/{sid}/pay", pay, {"Content-Type": "application/json"})
        for sid in sessions
    ]
    results, _ = harness.run_over_connections(emulator.base_url, jobs, connections=CONNECTIONS)
    failed = [r for r in results if r.status != 200]
    if failed:
        raise RuntimeError(f"{len(failed)} payments failed on the emulator: {failed[:3]}")
    return products, sessions


def completed_events(emulator, sessions: list[str]) -> list[dict]:
    """The emulator's checkout.session.completed events for these sessions."""
    wanted = set(sessions)
    auth = {"Authorization": f"Bearer {harness.STRIPE_SECRET_KEY}"}
    found: list[dict] = []
    after = ""
    while True:
        query = "type=checkout.session.completed&limit=100" + (
            f"&starting_after={after}" if after else ""
        )
        status, _, body = harness.http_get(f"{emulator.base_url}/v1/events?{query}", headers=auth)
        if status != 200:
            raise RuntimeError(f"GET /v1/events answered {status}: {body[:200]!r}")
        page = json.loads(body)
        found += [e for e in page["data"] if e["data"]["object"]["id"] in wanted]
        if not page.get("has_more") or not page["data"]:
            break
        after = page["data"][-1]["id"]
    if len(found) != len(wanted):
        raise RuntimeError(f"{len(found)} completed events for {len(wanted)} paid sessions")
    return found


def deliveries_plan(events: list[dict], seed: int) -> list[bytes]:
    """Every event once plus 30 % duplicates, shuffled: 1,000 payloads."""
    rng = random.Random(seed)
    payloads = [json.dumps(e, separators=(",", ":")).encode() for e in events]
    plan = payloads + rng.choices(payloads, k=DELIVERIES - len(payloads))
    rng.shuffle(plan)
    return plan


def storm(server, path: str, payloads: list[bytes]) -> tuple[list, float, int, list[int]]:
    """Deliver over 8 connections; resend what got a 5xx (as Stripe does). Returns
    the first pass's timings, its wall time, how many resends were needed, and the
    connections each worker held half a second in."""

    def signed(job):
        _, _, payload, headers = job
        return payload, {
            **headers,
            "Stripe-Signature": harness.stripe_signature(payload, harness.STRIPE_WEBHOOK_SECRET),
        }

    headers = {**harness.PROXY_HEADERS, "Content-Type": "application/json"}
    jobs = [("POST", path, payload, headers) for payload in payloads]
    spread: list[int] = []  # connections per worker, half a second in
    look = threading.Timer(0.5, lambda: spread.extend(harness.worker_connections(server)))
    look.start()
    try:
        results, wall = harness.run_over_connections(
            server.base_url, jobs, connections=CONNECTIONS, prepare=signed
        )
    finally:
        look.cancel()
        look.join()
    resent = 0
    pending = [job for job, r in zip(jobs, results, strict=True) if not 200 <= r.status < 300]
    for _ in range(RETRY_ROUNDS):
        if not pending:
            break
        resent += len(pending)
        again, _ = harness.run_over_connections(
            server.base_url, pending, connections=CONNECTIONS, prepare=signed
        )
        pending = [job for job, r in zip(pending, again, strict=True) if not 200 <= r.status < 300]
    return results, wall, resent, spread


def database_check(products: list, sessions: list[str], log_text: str) -> dict:
    from django.db.models import Sum

    from catalog.models import Product, StockReservation
    from checkout.models import Order, OrderLine, StripeEvent

    orders = Order.objects.filter(stripe_session_id__in=sessions)
    order_ids = list(orders.values_list("pk", flat=True))
    paid = orders.filter(status=Order.Status.PAID).count()
    events = StripeEvent.objects.filter(payload__data__object__id__in=sessions)
    sold = dict(
        OrderLine.objects.filter(order__in=orders, order__status=Order.Status.PAID)
        .values("product")
        .annotate(units=Sum("quantity"))
        .values_list("product", "units")
    )
    stock_wrong = [
        p.pk
        for p in Product.objects.filter(pk__in=[p.pk for p in products])
        if p.stock_on_hand != STOCK - sold.get(p.pk, 0)
    ]
    emails = Counter(
        int(n) for n in re.findall(r"Subject: \[[^\]]*\] Order #(\d+) is confirmed", log_text)
    )
    mails = [emails.get(pk, 0) for pk in order_ids]
    return {
        "orders": len(order_ids),
        "paid": paid,
        "events_recorded": events.count(),
        "events_processed": events.filter(processed_at__isnull=False).count(),
        "holds_consumed": StockReservation.objects.filter(
            order__in=orders, status=StockReservation.Status.CONSUMED
        ).count(),
        "holds_active": StockReservation.objects.filter(
            order__in=orders, status=StockReservation.Status.ACTIVE
        ).count(),
        "products_with_wrong_stock": stock_wrong,
        "orders_with_one_email": sum(1 for m in mails if m == 1),
        "orders_with_several_emails": sum(1 for m in mails if m > 1),
    }


def run(options: Options) -> dict:
    section = Section(
        f"4. Webhook storm: {DELIVERIES:,} signed events, {DUPLICATE_SHARE:.0%} duplicates, "
        f"{CONNECTIONS} connections"
    )
    harness.django_setup()
    with step("fresh database"):
        harness.database_reset()
        harness.collectstatic("whitenoise")
    runs: list[dict] = []
    with harness.Processes() as processes:
        emulator = harness.Emulator()
        with step("starting the Stripe emulator and the shop (uvicorn, 2 workers)"):
            processes.start(emulator)
            server = harness.Server(
                "webhooks",
                env={"STRIPE_API_BASE": emulator.base_url},
                label="as configured: psycopg 3 + pool, whitenoise, config.serve",
                expect={"driver": "psycopg", "pool": True, "static": "whitenoise"},
            )
            processes.start(server)
        for rep in range(options.reps):
            with step(f"repetition {rep + 1}/{options.reps}: {UNIQUE} orders checked out, paid"):
                products, sessions = paid_sessions_make(server, emulator, rep)
                payloads = deliveries_plan(completed_events(emulator, sessions), seed=rep)
            with step(f"repetition {rep + 1}/{options.reps}: bare view, then the storm"):
                # The reference again while one worker took every connection (the
                # catalog benchmark's wrk says why); the storm itself runs once.
                for _ in range(harness.WRK_ATTEMPTS):
                    bare, bare_wall, _, bare_spread = storm(server, "/bench/bare/", payloads)
                    if harness.every_worker_used(bare_spread, server.workers):
                        break
                results, wall, resent, spread = storm(server, "/webhooks/stripe/", payloads)
            check = database_check(products, sessions, server.log_path.read_text(errors="replace"))
            statuses = Counter(r.status for r in results)
            runs.append(
                {
                    "events_per_second": len(results) / wall,
                    "bare_per_second": len(bare) / bare_wall,
                    "p50_ms": percentile((r.seconds * 1000 for r in results), 50),
                    "p95_ms": percentile((r.seconds * 1000 for r in results), 95),
                    "bare_p50_ms": percentile((r.seconds * 1000 for r in bare), 50),
                    "bare_p95_ms": percentile((r.seconds * 1000 for r in bare), 95),
                    "statuses": {str(k): v for k, v in statuses.items()},
                    "resent": resent,
                    "connections_per_worker": spread,
                    "bare_connections_per_worker": bare_spread,
                    "database": check,
                }
            )
    return report(section, runs, options)


def report(section: Section, runs: list[dict], options: Options) -> dict:
    events_ps = median(r["events_per_second"] for r in runs)
    bare_ps = median(r["bare_per_second"] for r in runs)
    section.say(f"medians of {options.reps}; each run: {UNIQUE} orders, {DELIVERIES} deliveries")
    section.say(
        harness.table(
            ["target", "per second", "p50 ms", "p95 ms", "x bare"],
            [
                [
                    "bare view (reference)",
                    bare_ps,
                    median(r["bare_p50_ms"] for r in runs),
                    median(r["bare_p95_ms"] for r in runs),
                    1.0,
                ],
                [
                    "POST /webhooks/stripe/",
                    events_ps,
                    median(r["p50_ms"] for r in runs),
                    median(r["p95_ms"] for r in runs),
                    ratio(events_ps, bare_ps),
                ],
            ],
        )
    )
    exact = True
    for number, r in enumerate(runs, 1):
        db = r["database"]
        ok = (
            db["paid"] == UNIQUE
            and db["events_recorded"] == UNIQUE
            and db["events_processed"] == UNIQUE
            and db["holds_consumed"] == UNIQUE
            and db["holds_active"] == 0
            and not db["products_with_wrong_stock"]
            and db["orders_with_one_email"] == UNIQUE
        )
        exact &= ok
        section.say(
            f"run {number}: connections per worker {r['connections_per_worker']} (bare "
            f"{r['bare_connections_per_worker']}), answers {r['statuses']}, resent after 5xx "
            f"{r['resent']}; "
            f"orders paid {db['paid']}/{UNIQUE}, events recorded {db['events_recorded']} "
            f"(processed {db['events_processed']}), holds consumed {db['holds_consumed']}, "
            f"products with wrong stock {len(db['products_with_wrong_stock'])}, "
            f"one email {db['orders_with_one_email']}, several {db['orders_with_several_emails']}"
            f" -> {'exactly once' if ok else 'NOT exactly once'}"
        )
    return {
        "options": options.__dict__,
        "events_per_second": events_ps,
        "bare_per_second": bare_ps,
        "ratio": ratio(events_ps, bare_ps),
        "exactly_once": exact,
        "runs": runs,
        "lines": section.lines,
    }


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command(
        "webhooks", __doc__, run, argv, lambda result: 0 if result["exactly_once"] else 1
    )


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
