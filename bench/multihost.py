"""Benchmark 9: several hosts. Three shops behind nginx, sharing PostgreSQL and Redis: a
flash sale, a webhook storm and three sweepers at once, then every invariant checked.

    python -m bench.multihost [--reps 1]

The shape of docker-compose.yml on one machine: three shop instances (separate
processes on separate ports, each `config.serve` with 2 workers: six Django processes),
each with the same database and the same Redis (BENCH_REDIS_URL, default
redis://127.0.0.1:6379/11, a database of its own that the benchmark empties first),
behind nginx (Debian's package; `apt-get install nginx-light` when it is missing)
running deploy/nginx/templates/default.conf.template, the very file docker compose
gives its proxy. Every request goes through nginx, from a client address of its own
(127.0.1.x: all of 127.0.0.0/8 is this host), so the shop's checkout limit per address
stays on (BENCH_ADDRESS_LIMIT=1): nginx names the client in X-Forwarded-For, and the
shops believe it because it came from the proxy (theme/forwarded.py).

In each repetition, on new products:

1. the limit counts shoppers, not the proxy: 200 buyers from 200 addresses check out
   (none refused), and 61 posts from one address (the 61st refused, whichever shop
   served it: the count is in Redis);
2. a flash sale: 200 buyers at once for 10 units, spread by nginx over the three shops;
3. a webhook storm: 100 orders paid, 130 signed events (30 duplicates) over 8
   connections;
4. the sweepers: of the flash sale's 10 pending orders, 5 paid at the emulator with no
   webhook delivered, 5 left with their hold lapsed; `manage.py sweep_checkouts` runs on
   the three "hosts" at once;
5. uploaded images come from nginx itself (the shops do not serve /media/ in
   production).

Then: no unit oversold, every paid order fulfilled once (one sale movement per product,
one confirmation email), every event processed once, the lapsed orders canceled with
their holds released, and `manage.py check_inventory` exits 0. nginx's log says which
shop served what. Exits 1 when an invariant does not hold.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench import harness, webhooks
from bench.harness import Options, Section, median, percentile, step

INSTANCES = 3
BUYERS = 200
UNITS = 10
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
NGINX_TEMPLATE = harness.BASE_DIR / "deploy" / "nginx" / "templates" / "default.conf.template"
NGINX_MISSING = (
    "nginx is not installed; the multi-host benchmark runs the shops behind it.\n"
    "  Debian/Ubuntu: sudo apt-get install nginx-light"
)


def addresses(block: int, count: int) -> list[str]:
    """`count` loopback addresses of their own: 127.<block>.<n // 250>.<1 + n % 250>."""
    return [f"127.{block}.{n // 250}.{1 + n % 250}" for n in range(count)]


# --------------------------------------------------------------------------------- nginx


def nginx_config(template: str, **values: str) -> str:
    """The template as the nginx image's entrypoint renders it: envsubst of the given
    variables only (nginx's own $variables stay)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


class Nginx(harness.BenchProcess):
    """nginx in the foreground with deploy/nginx's template in front of `upstreams`; its
    access log records which shop served each request."""

    def __init__(self, upstreams: list[harness.Server]):
        self.port = harness.free_port()
        self.base_url = f"http://{harness.HOST}:{self.port}"
        self.prefix = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        self.access_log = harness.LOG_DIR / "multihost-nginx-access.log"
        servers = " ".join(f"server {harness.HOST}:{s.port} max_fails=0;" for s in upstreams)
        shop = nginx_config(
            NGINX_TEMPLATE.read_text(),
            SHOP_UPSTREAM=servers,
            PROXY_LISTEN=f"{harness.HOST}:{self.port}",
            MEDIA_ROOT=str(harness.BENCH_DIR / ".media"),
            # The bench stands for a TLS terminator in front of nginx.
            FORWARDED_PROTO="https",
        )
        (self.prefix / "shop.conf").write_text(shop)
        harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
        (self.prefix / "nginx.conf").write_text(
            "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root;\n"
            f"pid {self.prefix}/nginx.pid;\nerror_log {harness.LOG_DIR}/multihost-nginx.log;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "  include /etc/nginx/mime.types;\n"
            "  log_format upstream '$request_method $uri $status $upstream_addr';\n"
            f"  access_log {self.access_log} upstream;\n"
            f"  client_body_temp_path {self.prefix}/body;\n"
            f"  proxy_temp_path {self.prefix}/proxy;\n"
            f"  include {self.prefix}/shop.conf;\n"
            "}\n"
        )
        argv = [shutil.which("nginx") or "nginx", "-p", str(self.prefix), "-c",
                str(self.prefix / "nginx.conf")]  # fmt: skip
        super().__init__("multihost-nginx", argv, dict(os.environ))

    def start(self) -> None:
        self.access_log.unlink(missing_ok=True)
        super().start()
        self.wait_ready(self.base_url + "/healthz")

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def served_by(self) -> Counter:
        """Requests per upstream address so far (from the access log)."""
        counted: Counter = Counter()
        if self.access_log.exists():
            for line in self.access_log.read_text(errors="replace").splitlines():
                upstream = line.rsplit(" ", 1)[-1]
                counted[upstream if upstream != "-" else "nginx itself"] += 1
        return counted


# ------------------------------------------------------------------------------- set-up


def redis_empty() -> str | None:
    """Empty the benchmark's Redis database; None when done, otherwise why not."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is not reachable: {exc}"
    return None


def shop_env(emulator) -> dict[str, str]:
    return {
        "STRIPE_API_BASE": emulator.base_url,
        "REDIS_URL": REDIS_URL,
        "BENCH_ADDRESS_LIMIT": "1",
    }


# ---------------------------------------------------------------------------- scenarios


def limit_counts_shoppers(proxy: Nginx, product_id: int, rep: int) -> dict:
    """61 checkouts of a product in stock from one address through the proxy: the 61st
    is refused (429), wherever it was served. (The 200 flash-sale buyers, each from its
    own address, are never refused: the flash sale's own check.)"""
    import config.settings  # the shops' limit (bench.settings drops it for the others)

    limit, _ = config.settings.CHECKOUT_RATE_LIMIT_PER_ADDRESS
    buyers = harness.buyers_create(count=limit + 1, prefix=f"limit-{rep}", carts=[{product_id: 1}])
    jobs = [("POST", "/checkout/", b"", b.headers(proxy.base_url)) for b in buyers]
    # An address of its own in each repetition: the limit's window is 10 minutes.
    source = addresses(3, rep + 1)[rep]
    results, _ = harness.run_over_connections(proxy.base_url, jobs, connections=1, sources=[source])
    statuses = [r.status for r in results]
    return {
        "limit": limit,
        "posts": len(statuses),
        "refused_429": statuses.count(429),
        "first_refused_at": statuses.index(429) + 1 if 429 in statuses else None,
    }


def flash_sale(proxy: Nginx, emulator, rep: int) -> tuple[dict, list[int]]:
    from bench.flash_sale import held_units, outcome, product_make

    product = product_make(f"Multihost lantern {rep}", UNITS)
    buyers = harness.buyers_create(count=BUYERS, prefix=f"mh-{rep}", carts=[{product.pk: 1}])
    sources = addresses(1, BUYERS)
    bare = [("POST", "/bench/bare/", b"", b.headers(proxy.base_url)) for b in buyers]
    bare_results, _ = harness.run_concurrently(proxy.base_url, bare, sources=sources)
    jobs = [("POST", "/checkout/", b"", b.headers(proxy.base_url)) for b in buyers]
    results, wall = harness.run_concurrently(proxy.base_url, jobs, sources=sources)
    figures = outcome(results, emulator.base_url)
    figures["wall_s"] = wall
    figures["bare_p95_ms"] = percentile((r.seconds * 1000 for r in bare_results), 95)
    figures["refused_429"] = sum(1 for r in results if r.status == 429)
    figures["database"] = held_units(product.pk)
    return figures, [product.pk]


def storm(proxy: Nginx, emulator, rep: int) -> dict:
    """100 orders through the proxy (8 client addresses), paid; 130 events delivered."""
    from checkout.models import Order

    products = webhooks.products_make(rep, "mh")
    buyers = harness.buyers_create(
        count=webhooks.UNIQUE, prefix=f"mhstorm{rep}", carts=[{p.pk: 1} for p in products]
    )
    # 8 client addresses, new ones in each repetition (100 checkouts is 13 per address).
    count = webhooks.CONNECTIONS
    sources = addresses(2, count * (rep + 1))[count * rep :]
    jobs = [("POST", "/checkout/", b"", b.headers(proxy.base_url)) for b in buyers]
    results, _ = harness.run_over_connections(
        proxy.base_url, jobs, connections=webhooks.CONNECTIONS, sources=sources
    )
    opened = sum(1 for r in results if r.status == 302 and r.location.startswith(emulator.base_url))
    if opened != webhooks.UNIQUE:
        statuses = Counter(r.status for r in results)
        raise RuntimeError(f"only {opened} of {webhooks.UNIQUE} checkouts opened ({statuses})")
    sessions = list(
        Order.objects.filter(user_id__in=[b.user_id for b in buyers]).values_list(
            "stripe_session_id", flat=True
        )
    )
    pay = json.dumps({"card": "4242424242424242"})
    paid, _ = harness.run_over_connections(
        emulator.base_url,
        [("POST", f"/_emulator/sessions/{s}/pay", pay, {"Content-Type": "application/json"})
         for s in sessions],
        connections=webhooks.CONNECTIONS,
    )  # fmt: skip
    if any(r.status != 200 for r in paid):
        raise RuntimeError("a payment failed on the emulator")
    payloads = webhooks.deliveries_plan(webhooks.completed_events(emulator, sessions), seed=rep)

    def signed(job):
        _, _, payload, headers = job
        signature = harness.stripe_signature(payload, harness.STRIPE_WEBHOOK_SECRET)
        return payload, {**headers, "Stripe-Signature": signature}

    headers = {**harness.PROXY_HEADERS, "Content-Type": "application/json"}
    deliveries = [("POST", "/webhooks/stripe/", payload, headers) for payload in payloads]
    webhooks.api_requests(emulator, clear=True)
    results, wall = harness.run_over_connections(
        proxy.base_url, deliveries, connections=webhooks.CONNECTIONS, prepare=signed,
        sources=sources,
    )  # fmt: skip
    calls = webhooks.api_requests(emulator)["total"]
    resent = [job for job, r in zip(deliveries, results, strict=True) if r.status != 200]
    if resent:  # as Stripe would
        harness.run_over_connections(proxy.base_url, resent, connections=2, prepare=signed)
    check = webhooks.database_check(products, sessions, "")
    return {
        "events_per_second": len(results) / wall,
        "statuses": dict(Counter(str(r.status) for r in results)),
        "resent": len(resent),
        "stripe_calls_per_event": calls / len(payloads),
        "database": check,
        "exactly_once": webhooks._exactly_once(check),
    }


def sweepers(servers: list[harness.Server], emulator, product_ids: list[int]) -> dict:
    """The flash sale's pending orders: half paid with no webhook, half with their hold
    lapsed; `manage.py sweep_checkouts` on every "host" at once."""
    from django.utils import timezone

    from catalog.models import StockReservation
    from checkout.models import Order

    pending = list(
        Order.objects.filter(status=Order.Status.PENDING, lines__product_id__in=product_ids)
        .order_by("pk")
        .distinct()
    )
    paid, lapsed = pending[::2], pending[1::2]
    for order in paid:
        status, _, body, _ = harness.http_request(
            "POST",
            f"{emulator.base_url}/_emulator/sessions/{order.stripe_session_id}/pay",
            body=json.dumps({"card": "4242424242424242"}),
            headers={"Content-Type": "application/json"},
        )
        if status != 200:
            raise RuntimeError(f"paying {order.stripe_session_id}: {status} {body[:200]!r}")
    past = timezone.now() - timedelta(minutes=10)
    Order.objects.filter(pk__in=[o.pk for o in pending]).update(created_at=past)
    Order.objects.filter(pk__in=[o.pk for o in lapsed]).update(checkout_expires_at=past)
    StockReservation.objects.filter(order__in=lapsed).update(expires_at=past)
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "sweep_checkouts"],
            cwd=harness.BASE_DIR,
            env=server.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for server in servers
    ]
    said = [run.communicate(timeout=300)[0].splitlines() for run in runs]
    outputs = [[line for line in lines if "sweep_checkouts:" in line] for lines in said]
    statuses = dict(
        Order.objects.filter(pk__in=[o.pk for o in pending]).values_list("pk", "status")
    )
    held = StockReservation.objects.filter(order__in=lapsed, status="active").count()
    return {
        "paid_without_webhook": len(paid),
        "lapsed": len(lapsed),
        "now_paid": sum(1 for o in paid if statuses[o.pk] == Order.Status.PAID),
        "now_canceled": sum(1 for o in lapsed if statuses[o.pk] == Order.Status.CANCELED),
        "lapsed_holds_still_active": held,
        "sweeper_exit_codes": [run.returncode for run in runs],
        "sweeper_output": [line for lines in outputs for line in lines],
    }


def fulfilled_once() -> dict:
    """Every paid order has one sale movement per product it bought (no more, no less),
    and one confirmation email queued."""
    from catalog.models import StockMovement
    from checkout.models import Order, OrderLine, OrderNotification

    sold = Counter(
        OrderLine.objects.filter(order__paid_at__isnull=False).values_list("order_id", "product_id")
    )
    sales = Counter(
        StockMovement.objects.filter(reason=StockMovement.Reason.SALE).values_list(
            "order_id", "product_id"
        )
    )
    emails = Counter(
        OrderNotification.objects.filter(kind=OrderNotification.Kind.CONFIRMED).values_list(
            "order_id", flat=True
        )
    )
    paid = list(Order.objects.filter(paid_at__isnull=False).values_list("pk", flat=True))
    return {
        "paid_orders": len(paid),
        "sale_movements_as_sold": sales == sold,
        "orders_sold_twice": sum(1 for count in sales.values() if count > 1),
        "orders_without_one_email": sum(1 for pk in paid if emails.get(pk) != 1),
    }


def check_inventory(env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "manage.py", "check_inventory"],
        cwd=harness.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, (done.stdout + done.stderr).strip().splitlines()[0]


def media_from_nginx(proxy: Nginx) -> dict:
    """An uploaded image through the proxy: served (200) by nginx itself, which the
    access log shows with no upstream."""
    from catalog.models import Product

    image = Product.objects.exclude(image="").values_list("image", flat=True).first()
    if not image:
        return {"checked": False}
    before = proxy.served_by()["nginx itself"]
    status, _, body = harness.http_get(f"{proxy.base_url}/media/{image}")
    # nginx logs a request after answering it: the line may come a moment later.
    deadline = time.monotonic() + 2
    while proxy.served_by()["nginx itself"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    return {
        "checked": True,
        "status": status,
        "bytes": len(body),
        "served_by_nginx": proxy.served_by()["nginx itself"] > before,
    }


# --------------------------------------------------------------------------------- run


def run(options: Options) -> dict:
    section = Section(
        f"9. Several hosts: {INSTANCES} shops (2 workers each) behind nginx, one PostgreSQL, "
        "one Redis"
    )
    if shutil.which("nginx") is None:
        section.say(NGINX_MISSING)
        return {"skipped": "nginx missing", "lines": section.lines}
    problem = redis_empty()
    if problem:
        section.say(problem)
        return {"skipped": "redis unreachable", "lines": section.lines}
    harness.django_setup()
    with step("fresh database, demo products with pictures"):
        harness.database_reset()
        from bench.catalog import catalog_seed

        catalog_seed()
        harness.collectstatic("whitenoise")
    reps: list[dict] = []
    with harness.Processes() as processes:
        emulator = harness.Emulator()
        with step(f"starting the Stripe emulator, {INSTANCES} shops and nginx"):
            processes.start(emulator)
            servers = [
                harness.Server(
                    f"multihost-{n}",
                    env=shop_env(emulator),
                    label=f"shop {n}",
                    expect={"driver": "psycopg", "pool": True},
                )
                for n in range(1, INSTANCES + 1)
            ]
            for server in servers:
                processes.start(server)
            proxy = Nginx(servers)
            processes.start(proxy)
        media = media_from_nginx(proxy)
        for rep in range(options.reps):
            tag = f"repetition {rep + 1}/{options.reps}"
            with step(f"{tag}: the limit per address, through the proxy"):
                # In stock: a product found sold out is refused before the limit counts.
                in_stock = harness_product(f"Multihost limit {rep}", 1_000)
                limit = limit_counts_shoppers(proxy, in_stock, rep)
            with step(f"{tag}: flash sale, {BUYERS} buyers for {UNITS} units"):
                flash, flash_products = flash_sale(proxy, emulator, rep)
            with step(f"{tag}: webhook storm"):
                stormed = storm(proxy, emulator, rep)
            with step(f"{tag}: {INSTANCES} sweepers at once"):
                swept = sweepers(servers, emulator, flash_products)
            reps.append({"limit": limit, "flash": flash, "storm": stormed, "sweep": swept})
        served = proxy.served_by()
        by_shop = {
            server.label: served.get(f"{harness.HOST}:{server.port}", 0) for server in servers
        }
        once = fulfilled_once()
        inventory = check_inventory(servers[0].env)
    return report(section, reps, by_shop, served, once, inventory, media)


def harness_product(name: str, stock: int) -> int:
    from bench.flash_sale import product_make

    return product_make(name, stock).pk


def report(section, reps, by_shop, served, once, inventory, media) -> dict:
    failures: list[str] = []
    for number, rep in enumerate(reps, 1):
        limit, flash, stormed, swept = rep["limit"], rep["flash"], rep["storm"], rep["sweep"]
        db = flash["database"]
        section.say(
            f"run {number}: limit per address {limit['limit']}: {limit['posts']} posts from one "
            f"address, first refused at #{limit['first_refused_at']} ({limit['refused_429']} "
            "refused)"
        )
        section.say(
            f"  flash sale: holds {flash['holds']}, sold out {flash['refused']}, errors "
            f"{flash['errors']} ({flash['refused_429']} refused by the limit), p95 "
            f"{flash['p95_ms']:.0f} ms (bare round {flash['bare_p95_ms']:.0f} ms), units held "
            f"{db['units_held']} of {db['stock_on_hand']}, oversold {db['oversold']}"
        )
        section.say(
            f"  webhook storm: {stormed['events_per_second']:.1f} events/s, answers "
            f"{stormed['statuses']}, resent {stormed['resent']}, Stripe calls per event "
            f"{stormed['stripe_calls_per_event']:.2f}, "
            f"{'exactly once' if stormed['exactly_once'] else 'NOT exactly once'}"
        )
        section.say(
            f"  sweepers x{len(swept['sweeper_exit_codes'])} (exit {swept['sweeper_exit_codes']}): "
            f"{swept['now_paid']}/{swept['paid_without_webhook']} paid without a webhook now "
            f"paid, {swept['now_canceled']}/{swept['lapsed']} lapsed now canceled, "
            f"{swept['lapsed_holds_still_active']} lapsed holds still active"
        )
        for line in swept["sweeper_output"]:
            section.say(f"    {line}")
        if limit["first_refused_at"] != limit["limit"] + 1:
            failures.append(f"run {number}: the limit per address did not count one shopper")
        if flash["errors"] or flash["holds"] != UNITS or db["oversold"]:
            failures.append(f"run {number}: the flash sale oversold or failed")
        if not stormed["exactly_once"]:
            failures.append(f"run {number}: the storm did not fulfil exactly once")
        if (
            swept["now_paid"] != swept["paid_without_webhook"]
            or swept["now_canceled"] != swept["lapsed"]
            or swept["lapsed_holds_still_active"]
            or any(swept["sweeper_exit_codes"])
        ):
            failures.append(f"run {number}: the sweepers left something unsettled")
    section.say(
        f"requests per shop (nginx's log): {by_shop}; by nginx itself {served['nginx itself']}"
    )
    section.say(
        f"paid orders {once['paid_orders']}: sale movements as sold "
        f"{once['sale_movements_as_sold']}, sold twice {once['orders_sold_twice']}, without "
        f"exactly one confirmation email {once['orders_without_one_email']}"
    )
    section.say(f"check_inventory: exit {inventory[0]}: {inventory[1]}")
    if media["checked"]:
        section.say(
            f"an uploaded image through the proxy: {media['status']}, {media['bytes']:,} bytes, "
            f"served by nginx itself: {media['served_by_nginx']}"
        )
        if media["status"] != 200 or not media["served_by_nginx"]:
            failures.append("nginx did not serve the uploaded image")
    if not once["sale_movements_as_sold"] or once["orders_sold_twice"]:
        failures.append("an order was fulfilled other than once")
    if once["orders_without_one_email"]:
        failures.append("an order has other than one confirmation email")
    if inventory[0] != 0:
        failures.append("check_inventory failed")
    if min(by_shop.values()) == 0:
        failures.append("a shop served nothing")
    for failure in failures:
        section.say(f"FAILED: {failure}")
    section.say("every invariant holds" if not failures else f"{len(failures)} failures")
    return {
        "runs": reps,
        "by_shop": by_shop,
        "fulfilled_once": once,
        "check_inventory": inventory,
        "media": media,
        "failures": failures,
        "flash_p95_ms": median(r["flash"]["p95_ms"] for r in reps),
        "lines": section.lines,
    }


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command(
        "multihost",
        __doc__,
        run,
        argv,
        lambda result: 3 if result.get("skipped") else (1 if result["failures"] else 0),
    )


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
