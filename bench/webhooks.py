"""Benchmark 4: a webhook storm. 130 signed `checkout.session.completed` deliveries for
100 paid orders (30 duplicates), over 8 connections.

    python -m bench.webhooks [--reps 3]

Each repetition sets up 100 real paid orders: 100 buyers check out through
`POST /checkout/` (the shop opens 100 sessions on the Stripe emulator), the emulator
is told to pay each session, and its 100 `checkout.session.completed` events are
read back from `GET /v1/events`. They are delivered with 30 duplicates mixed in, in
a shuffled order, each signed just before it is sent (Stripe-Signature: t=...,
v1=HMAC-SHA256(secret, "t.payload")). A delivery answered with 5xx is sent again, as
Stripe would. The reference is `GET /healthz` (one query) the same 130 times over
the same 8 connections, measured just before; the bare view too.

The Stripe emulator counts the requests it receives (GET /_emulator/api_requests):
the storm's count over its deliveries is its Stripe API calls per event.

Afterwards the database must show every order paid once, each event recorded once,
stock down by exactly the units sold, and the server's log one confirmation email
per order.

With BENCH_BASELINE=<another checkout of the shop> (the tree before a change) a second
shop runs from there, on the same database and emulator, and gets a storm of its own
in each repetition, after the same reference: before and after, in one run.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections import Counter

from bench import harness
from bench.harness import Options, Section, median, percentile, ratio, step

UNIQUE = 100  # orders, each with one checkout.session.completed event
DUPLICATE_SHARE = 0.3  # of the orders' events, delivered twice
DELIVERIES = UNIQUE + round(UNIQUE * DUPLICATE_SHARE)  # 130
CONNECTIONS = 8
PRODUCTS = 10
STOCK = 100  # per product: 10 are sold in each repetition (per shop)
RETRY_ROUNDS = 3
# The targets: events per second against /healthz, Stripe calls per event.
TARGET_RATIO = 0.25
TARGET_CALLS_PER_EVENT = 0.2


def products_make(rep: int, tag: str = "") -> list:
    from catalog.inventory import stock_opening_record
    from catalog.models import Product

    products = Product.objects.bulk_create(
        Product(
            name=f"Storm item {tag}{rep}-{i}",
            slug=f"storm-item-{tag}{rep}-{i}",
            unit_amount=1200 + 100 * i,
            currency="eur",
            stock_on_hand=STOCK,
        )
        for i in range(PRODUCTS)
    )
    for product in products:  # the ledger holds it: check_inventory agrees
        stock_opening_record(product=product)
    return products


def paid_sessions_make(server, emulator, rep: int, tag: str = "") -> tuple[list, list[str]]:
    """100 orders through the shop's checkout, each paid on the emulator."""
    from checkout.models import Order

    products = products_make(rep, tag)
    buyers = harness.buyers_create(
        count=UNIQUE,
        prefix=f"storm{tag}{rep}",
        carts=[{p.pk: 1} for p in products],
        backend=server.auth_backend,
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
    """Every event once plus 30 % duplicates, shuffled: 130 payloads."""
    rng = random.Random(seed)
    payloads = [json.dumps(e, separators=(",", ":")).encode() for e in events]
    plan = payloads + rng.choices(payloads, k=DELIVERIES - len(payloads))
    rng.shuffle(plan)
    return plan


def storm(
    server, path: str, payloads: list[bytes], method: str = "POST"
) -> tuple[list, float, int, list[int], float]:
    """Deliver over 8 connections; resend what got a 5xx (as Stripe does). Returns
    the first pass's timings, its wall time, how many resends were needed, the
    connections each worker held a moment in, and the CPU milliseconds per request
    that the server's processes and PostgreSQL's backends for the bench database spent
    in the first pass. With `method` GET (the /healthz reference), as many GETs,
    without a body."""

    def signed(job):
        method, _, payload, headers = job
        if method == "GET":
            return None, headers
        return payload, {
            **headers,
            "Stripe-Signature": harness.stripe_signature(payload, harness.STRIPE_WEBHOOK_SECRET),
        }

    headers = {**harness.PROXY_HEADERS, "Content-Type": "application/json"}
    if method == "GET":
        headers = dict(harness.PROXY_HEADERS)
    jobs = [(method, path, payload, headers) for payload in payloads]
    spread: list[int] = []  # connections per worker, a moment in (a storm is short)
    look = threading.Timer(0.1, lambda: spread.extend(harness.worker_connections(server)))
    pids = server.group_pids() + harness.database_pids()
    cpu = harness.process_cpu_seconds(pids)
    look.start()
    try:
        results, wall = harness.run_over_connections(
            server.base_url, jobs, connections=CONNECTIONS, prepare=signed
        )
    finally:
        look.cancel()
        look.join()
    cpu_ms = (harness.process_cpu_seconds(pids) - cpu) * 1000 / len(jobs)
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
    return results, wall, resent, spread, cpu_ms


def database_check(products: list, sessions: list[str], log_text: str) -> dict:
    from django.db.models import Sum

    from catalog.models import Product, StockReservation
    from checkout.models import Order, OrderLine, OrderNotification, StripeEvent

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
    # Emails are queued with the payment (checkout.services.notifications), one row per
    # order and kind, and sent by the worker; the log holds only the sent ones.
    emails = Counter(
        OrderNotification.objects.filter(
            order__in=orders, kind=OrderNotification.Kind.CONFIRMED
        ).values_list("order_id", flat=True)
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


def api_requests(emulator, *, clear: bool = False) -> dict:
    """The /v1/ requests the emulator received, by endpoint (DELETE: and clear them)."""
    status, _, body, _ = harness.http_request(
        "DELETE" if clear else "GET", f"{emulator.base_url}/_emulator/api_requests"
    )
    if status != 200:
        raise RuntimeError(f"the emulator's request counter answered {status}")
    return json.loads(body)


def one_storm(server, emulator, payloads: list[bytes]) -> dict:
    """The references (/healthz, then the bare view), then the storm, whose requests to
    the emulator are counted."""
    # The reference again while one worker took every connection (the catalog
    # benchmark's wrk says why); the storm itself runs once.
    for _ in range(harness.WRK_ATTEMPTS):
        health, health_wall, _, health_spread, health_cpu = storm(
            server, "/healthz", payloads, "GET"
        )
        if harness.every_worker_used(health_spread, server.workers):
            break
    bare, bare_wall, _, _, _ = storm(server, "/bench/bare/", payloads)
    api_requests(emulator, clear=True)
    results, wall, resent, spread, cpu_ms = storm(server, "/webhooks/stripe/", payloads)
    calls = api_requests(emulator)
    statuses = Counter(r.status for r in results)
    return {
        "events_per_second": len(results) / wall,
        "healthz_per_second": len(health) / health_wall,
        "bare_per_second": len(bare) / bare_wall,
        "p50_ms": percentile((r.seconds * 1000 for r in results), 50),
        "p95_ms": percentile((r.seconds * 1000 for r in results), 95),
        "healthz_p50_ms": percentile((r.seconds * 1000 for r in health), 50),
        "healthz_p95_ms": percentile((r.seconds * 1000 for r in health), 95),
        "healthz_statuses": {str(k): v for k, v in Counter(r.status for r in health).items()},
        "statuses": {str(k): v for k, v in statuses.items()},
        "resent": resent,
        "stripe_calls": calls["total"],
        "stripe_calls_by_endpoint": calls["by_endpoint"],
        "calls_per_event": calls["total"] / len(payloads),
        "cpu_ms": cpu_ms,
        "healthz_cpu_ms": health_cpu,
        "connections_per_worker": spread,
        "healthz_connections_per_worker": health_spread,
    }


SHOPS = {
    "shop": "as configured: psycopg 3 + pool, whitenoise, config.serve",
    "baseline": "BENCH_BASELINE (before)",
}


def run(options: Options) -> dict:
    section = Section(
        f"4. Webhook storm: {DELIVERIES:,} signed events for {UNIQUE} orders "
        f"({DELIVERIES - UNIQUE} duplicates), {CONNECTIONS} connections"
    )
    harness.django_setup()
    baseline = harness.baseline_root()
    with step("fresh database"):
        harness.database_reset()
        harness.collectstatic("whitenoise")
        if baseline is not None:
            harness.collectstatic("whitenoise", root=baseline)
    runs: dict[str, list[dict]] = {key: [] for key in SHOPS if key == "shop" or baseline}
    with harness.Processes() as processes:
        emulator = harness.Emulator()
        with step("starting the Stripe emulator and the shop (uvicorn, 2 workers)"):
            processes.start(emulator)
            servers = {
                "shop": harness.Server(
                    "webhooks",
                    env={"STRIPE_API_BASE": emulator.base_url},
                    label=SHOPS["shop"],
                    expect={"driver": "psycopg", "pool": True, "static": "whitenoise"},
                )
            }
            if baseline is not None:
                servers["baseline"] = harness.Server(
                    "webhooks-baseline",
                    env={"STRIPE_API_BASE": emulator.base_url},
                    label=f"{SHOPS['baseline']}: {baseline}",
                    root=baseline,
                    expect={"driver": "psycopg", "pool": True},
                )
            for server in servers.values():
                processes.start(server)
        for rep in range(options.reps):
            order = list(servers)[rep % len(servers) :] + list(servers)[: rep % len(servers)]
            for key in order:
                server = servers[key]
                with step(f"repetition {rep + 1}/{options.reps}, {key}: {UNIQUE} orders paid"):
                    products, sessions = paid_sessions_make(server, emulator, rep, key)
                    payloads = deliveries_plan(completed_events(emulator, sessions), seed=rep)
                with step(f"repetition {rep + 1}/{options.reps}, {key}: references, the storm"):
                    figures = one_storm(server, emulator, payloads)
                log = server.log_path.read_text(errors="replace")
                figures["database"] = database_check(products, sessions, log)
                runs[key].append(figures)
    return report(section, runs, options)


def _exactly_once(db: dict) -> bool:
    return (
        db["paid"] == UNIQUE
        and db["events_recorded"] == UNIQUE
        and db["events_processed"] == UNIQUE
        and db["holds_consumed"] == UNIQUE
        and db["holds_active"] == 0
        and not db["products_with_wrong_stock"]
        and db["orders_with_one_email"] == UNIQUE
        and db["orders_with_several_emails"] == 0
    )


def summarise(runs: list[dict]) -> dict:
    """Medians of a shop's repetitions, and the ratios of each repetition's own figures."""
    return {
        "events_per_second": median(r["events_per_second"] for r in runs),
        "healthz_per_second": median(r["healthz_per_second"] for r in runs),
        "bare_per_second": median(r["bare_per_second"] for r in runs),
        # the median of per-repetition ratios: each against its own reference
        "ratio_healthz": median(
            ratio(r["events_per_second"], r["healthz_per_second"]) for r in runs
        ),
        "ratio_healthz_each": [
            round(ratio(r["events_per_second"], r["healthz_per_second"]), 3) for r in runs
        ],
        "ratio_bare": median(ratio(r["events_per_second"], r["bare_per_second"]) for r in runs),
        "calls_per_event": median(r["calls_per_event"] for r in runs),
        # CPU per request (the server's and PostgreSQL's): healthz's over the event's
        "cpu_ms": median(r["cpu_ms"] for r in runs),
        "healthz_cpu_ms": median(r["healthz_cpu_ms"] for r in runs),
        "cpu_ratio": median(ratio(r["healthz_cpu_ms"], r["cpu_ms"]) for r in runs),
        "p50_ms": median(r["p50_ms"] for r in runs),
        "p95_ms": median(r["p95_ms"] for r in runs),
        "healthz_p50_ms": median(r["healthz_p50_ms"] for r in runs),
        "healthz_p95_ms": median(r["healthz_p95_ms"] for r in runs),
        "exactly_once": all(_exactly_once(r["database"]) for r in runs),
    }


def report(section: Section, runs: dict[str, list[dict]], options: Options) -> dict:
    summary = {key: summarise(shop_runs) for key, shop_runs in runs.items()}
    section.say(
        f"medians of {options.reps}; each run: {UNIQUE} orders, {DELIVERIES} deliveries; "
        "x healthz: per repetition, events/s over /healthz's requests/s just before"
    )
    rows = []
    for key, fig in summary.items():
        rows += [
            [
                SHOPS[key],
                "GET /healthz (reference)",
                fig["healthz_per_second"],
                fig["healthz_p50_ms"],
                fig["healthz_p95_ms"],
                1.0,
                "",
                "",
            ],
            ["", "bare view", fig["bare_per_second"], "", "", "", "", ""],
            [
                "",
                "POST /webhooks/stripe/",
                fig["events_per_second"],
                fig["p50_ms"],
                fig["p95_ms"],
                fig["ratio_healthz"],
                fig["ratio_bare"],
                fig["calls_per_event"],
            ],
        ]
    section.say(
        harness.table(
            [
                "shop",
                "target",
                "per second",
                "p50 ms",
                "p95 ms",
                "x healthz",
                "x bare",
                "Stripe calls/event",
            ],
            rows,
        )
    )
    for key, shop_runs in runs.items():
        fig = summary[key]
        section.say(
            f"{SHOPS[key]}: x healthz per repetition {fig['ratio_healthz_each']} (target "
            f">= {TARGET_RATIO}); Stripe calls per event "
            f"{[round(r['calls_per_event'], 2) for r in shop_runs]} (target <= "
            f"{TARGET_CALLS_PER_EVENT}); CPU per request (server and PostgreSQL) "
            f"{fig['cpu_ms']:.1f} ms against /healthz's {fig['healthz_cpu_ms']:.1f} ms: "
            f"x{fig['cpu_ratio']:.2f}"
        )
        for number, r in enumerate(shop_runs, 1):
            db = r["database"]
            section.say(
                f"  run {number}: connections per worker {r['connections_per_worker']} "
                f"(healthz {r['healthz_connections_per_worker']}), answers {r['statuses']}, "
                f"resent after 5xx {r['resent']}; Stripe {r['stripe_calls_by_endpoint']}; "
                f"orders paid {db['paid']}/{UNIQUE}, events recorded {db['events_recorded']} "
                f"(processed {db['events_processed']}), holds consumed {db['holds_consumed']}, "
                f"products with wrong stock {len(db['products_with_wrong_stock'])}, "
                f"one email {db['orders_with_one_email']}, several "
                f"{db['orders_with_several_emails']} -> "
                f"{'exactly once' if _exactly_once(db) else 'NOT exactly once'}"
            )
    shop = summary["shop"]
    meets = (
        shop["ratio_healthz"] >= TARGET_RATIO and shop["calls_per_event"] <= TARGET_CALLS_PER_EVENT
    )
    section.say(
        f"webhooks: {shop['ratio_healthz']:.2f}x /healthz, {shop['calls_per_event']:.2f} "
        f"Stripe calls per event: {'meets' if meets else 'is BELOW'} the targets "
        f"(>= {TARGET_RATIO}x, <= {TARGET_CALLS_PER_EVENT})"
    )
    return {
        "options": options.__dict__,
        "events_per_second": shop["events_per_second"],
        "healthz_per_second": shop["healthz_per_second"],
        "bare_per_second": shop["bare_per_second"],
        "ratio": shop["ratio_healthz"],
        "calls_per_event": shop["calls_per_event"],
        "meets_target": meets,
        "exactly_once": all(fig["exactly_once"] for fig in summary.values()),
        "summary": summary,
        "runs": runs,
        "lines": section.lines,
    }


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command(
        "webhooks", __doc__, run, argv, lambda result: 0 if result["exactly_once"] else 1
    )


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
