"""Benchmark 7: the staff sales page (/admin/sales/) for its default 30 days, with
100,000 orders spread over two years, against 1,000 orders over the same two years.

    python -m bench.dashboard [--reps 3] [--quick]

One database gets 1,000 orders over the last 730 days (lines, statuses, a few refunds
and open holds), is copied (PostgreSQL's CREATE DATABASE ... TEMPLATE) to a second one,
and then gets 99,000 more orders over the same two years: the two differ only in how
many orders there are. A shop server (uvicorn, 2 workers, as configured) runs on each;
a signed-in superuser asks each for the page, 20 times in a row per repetition, servers
in turn (a different one first each time), over one kept-alive connection. The figure
is the median time of an answer; the target is at most 3x the small shop's time. Each
page's SQL queries are counted in this process (the test client on each database).
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from datetime import timedelta

from bench import harness
from bench.harness import Options, Section, median, ratio, step

LARGE, SMALL = 100_000, 1_000
DAYS = 730
PRODUCTS = 24
CUSTOMERS = 2_000
TARGET = 3.0  # the large shop's page at most this many times the small one's
REQUESTS = 20  # per server and repetition, after WARMUP
WARMUP = 3
PAGE = "/admin/sales/"
BATCH = 5_000


def small_database() -> str:
    return f"{harness.DB_NAME}_small"


@contextlib.contextmanager
def timestamps_as_given():
    """Order's created_at and updated_at are auto_now(_add): bulk_create would stamp
    every order "now". For the bench's history they are written as given."""
    from checkout.models import Order

    fields = [Order._meta.get_field("created_at"), Order._meta.get_field("updated_at")]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, (now, now_add) in zip(fields, saved, strict=True):
            f.auto_now, f.auto_now_add = now, now_add


def catalog_make() -> tuple[list, list, int, str]:
    """Products, customers, and a superuser signed in by a server-side session."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from catalog.models import Product

    products = Product.objects.bulk_create(
        Product(
            name=f"Dashboard item {i}",
            slug=f"dashboard-item-{i}",
            unit_amount=450 + 175 * i,
            currency="eur",
            stock_on_hand=40 + i,
        )
        for i in range(PRODUCTS)
    )
    unusable = make_password(None)
    customers = User.objects.bulk_create(
        User(email=f"customer-{i}@bench.invalid", password=unusable) for i in range(CUSTOMERS)
    )
    staff = User.objects.create_superuser("owner@bench.invalid", "bench-only-password")
    session = SessionStore()
    session[SESSION_KEY] = str(staff.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = staff.get_session_auth_hash()
    session.create()
    return products, customers, staff.pk, session.session_key or ""


def orders_make(count: int, *, products: list, customers: list, rng: random.Random) -> None:
    """`count` orders placed at random over the last DAYS days, with their lines: 72 %
    paid, 5 % paid then refunded up to two weeks later, 20 % canceled, 3 % pending."""
    from django.utils import timezone

    from checkout.models import Order, OrderLine

    now = timezone.now()
    start = now - timedelta(days=DAYS)
    span = (now - start).total_seconds()
    # Made in the order a shop makes them (rows of a day lie together, as in a real
    # table), though at random moments.
    moments = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
    done = 0
    with timestamps_as_given():
        while done < count:
            size = min(BATCH, count - done)
            orders, baskets = [], []
            for created in moments[done : done + size]:
                basket = {
                    p: rng.choice((1, 1, 1, 2, 3))
                    for p in rng.sample(products, rng.choice((1, 1, 2, 3)))
                }
                amount = sum(p.unit_amount * q for p, q in basket.items())
                roll = rng.random()
                paid_at = refunded_at = canceled_at = None
                status = Order.Status.PENDING
                if roll < 0.77:
                    paid_at = created + timedelta(minutes=rng.randrange(1, 10))
                    status = Order.Status.PAID
                    if roll < 0.05:
                        refunded_at = min(paid_at + timedelta(days=rng.randrange(1, 15)), now)
                        status = Order.Status.REFUNDED
                elif roll < 0.97:
                    canceled_at = created + timedelta(minutes=rng.randrange(2, 40))
                    status = Order.Status.CANCELED
                customer = rng.choice(customers)
                orders.append(
                    Order(
                        user=customer,
                        email=customer.email,
                        status=status,
                        currency="eur",
                        amount_total=amount,
                        stripe_amount_total=amount if paid_at else None,
                        stripe_currency="eur" if paid_at else "",
                        created_at=created,
                        updated_at=refunded_at or canceled_at or paid_at or created,
                        paid_at=paid_at,
                        refunded_at=refunded_at,
                        canceled_at=canceled_at,
                    )
                )
                baskets.append(basket)
            made = Order.objects.bulk_create(orders, batch_size=BATCH)
            OrderLine.objects.bulk_create(
                (
                    OrderLine(
                        order=order,
                        product=product,
                        name=product.name,
                        unit_amount=product.unit_amount,
                        quantity=quantity,
                    )
                    for order, basket in zip(made, baskets, strict=True)
                    for product, quantity in basket.items()
                ),
                batch_size=BATCH,
            )
            done += size


def holds_make(products: list, customers: list) -> None:
    """A few open checkouts, for the "held" figure."""
    from django.utils import timezone

    from catalog.models import StockReservation
    from checkout.models import Order

    soon = timezone.now() + timedelta(minutes=25)
    for i, product in enumerate(products[:5]):
        order = Order.objects.create(
            user=customers[i],
            email=customers[i].email,
            currency="eur",
            amount_total=product.unit_amount,
        )
        StockReservation.objects.create(product=product, order=order, quantity=1, expires_at=soon)


def database_copy(source: str, target: str) -> None:
    """CREATE DATABASE target TEMPLATE source: nobody may be connected to source."""
    from django.db import connections

    connections.close_all()
    with harness._admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def database_use(name: str) -> None:
    """Point this process's connection at another database."""
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = name


def queries_of_page(session_key: str, name: str) -> dict:
    """The page's SQL queries on database `name` (the test client, in this process)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    database_use(name)
    client = Client(HTTP_HOST=harness.HOST)
    client.cookies["sessionid"] = session_key
    with CaptureQueriesContext(connection) as captured:
        response = client.get(PAGE, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"{PAGE} on {name} answered {response.status_code}")
    timed = sorted(((float(q["time"]), q["sql"]) for q in captured.captured_queries), reverse=True)
    return {
        "queries": len(captured),
        "sql_seconds": sum(t for t, _ in timed),
        "slowest": [(round(t * 1000, 2), sql[:140]) for t, sql in timed[:3]],
    }


def page_times(server: harness.Server, session_key: str, n: int) -> list[float]:
    """`n` answers in a row over one kept-alive connection, in seconds (after WARMUP)."""
    headers = {**harness.PROXY_HEADERS, "Cookie": f"sessionid={session_key}"}
    client = harness.KeepAlive(server.base_url)
    times = []
    try:
        for i in range(WARMUP + n):
            start = time.perf_counter()
            status, _, body = client.request("GET", PAGE, headers=headers)
            elapsed = time.perf_counter() - start
            if status != 200 or b'data-testid="revenue-chart"' not in body:
                raise RuntimeError(f"{server.name}: {PAGE} answered {status}: {body[:300]!r}")
            if i >= WARMUP:
                times.append(elapsed)
    finally:
        client.close()
    return times


def run(options: Options) -> dict:
    section = Section(
        f"7. Sales page, default 30 days: {LARGE:,} orders over two years against {SMALL:,}"
    )
    harness.django_setup()
    rng = random.Random(6)
    with step(f"fresh database, {SMALL:,} orders over {DAYS} days"):
        harness.database_reset()
        harness.collectstatic("whitenoise")
        products, customers, _, session_key = catalog_make()
        orders_make(SMALL, products=products, customers=customers, rng=rng)
        holds_make(products, customers)
    with step(f"copy to {small_database()}"):
        database_copy(harness.DB_NAME, small_database())
    with step(f"{LARGE - SMALL:,} more orders over the same {DAYS} days"):
        database_use(harness.DB_NAME)
        orders_make(LARGE - SMALL, products=products, customers=customers, rng=rng)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    queries = {
        "small": queries_of_page(session_key, small_database()),
        "large": queries_of_page(session_key, harness.DB_NAME),
    }
    from django.db import connections

    connections.close_all()
    times: dict[str, list[float]] = {"small": [], "large": []}
    with harness.Processes() as processes:
        with step("starting a shop on each database (uvicorn, 2 workers each)"):
            servers = {
                "small": processes.start(
                    harness.Server(
                        "sales-small",
                        env={
                            "DATABASE_URL": harness.DATABASE_URL.rsplit("/", 1)[0]
                            + "/"
                            + small_database()
                        },
                        expect={"driver": "psycopg", "pool": True},
                    )
                ),
                "large": processes.start(
                    harness.Server("sales-large", expect={"driver": "psycopg", "pool": True})
                ),
            }
        for rep in range(options.reps):
            order = ["small", "large"] if rep % 2 == 0 else ["large", "small"]
            with step(f"repetition {rep + 1}/{options.reps}: {REQUESTS} pages from each"):
                for key in order:
                    times[key].append(median(page_times(servers[key], session_key, REQUESTS)))
    return report(section, times, queries, options)


def report(section: Section, times: dict, queries: dict, options: Options) -> dict:
    small_ms = median(times["small"]) * 1000
    large_ms = median(times["large"]) * 1000
    slower = ratio(large_ms, small_ms)
    section.say(f"median of {options.reps} repetitions, each the median of {REQUESTS} pages")
    section.say(
        harness.table(
            ["shop", "orders", "page p50 ms", "queries", "SQL ms", "x small"],
            [
                [
                    "small",
                    SMALL,
                    small_ms,
                    queries["small"]["queries"],
                    queries["small"]["sql_seconds"] * 1000,
                    1.0,
                ],
                [
                    "large",
                    LARGE,
                    large_ms,
                    queries["large"]["queries"],
                    queries["large"]["sql_seconds"] * 1000,
                    slower,
                ],
            ],
        )
    )
    section.say("slowest queries on the large shop (ms, SQL):")
    for ms, sql in queries["large"]["slowest"]:
        section.say(f"  {ms:8.2f}  {sql}")
    met = slower <= TARGET
    section.say(
        f"target: at most {TARGET:g}x the small shop's time -> {'met' if met else 'NOT met'}"
    )
    return {
        "options": options.__dict__,
        "small_ms": small_ms,
        "large_ms": large_ms,
        "ratio": slower,
        "target": TARGET,
        "met": met,
        "queries": queries,
        "times": times,
        "lines": section.lines,
    }


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command("dashboard", __doc__, run, argv, lambda r: 0 if r["met"] else 1)


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
