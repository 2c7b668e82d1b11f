"""Benchmark 3: a flash sale. 200 signed-in buyers press "Check out" at the same moment
for a product with 10 units; each cart holds 1 unit.

    python -m bench.flash_sale [--reps 3]

Through `POST /checkout/` of the shop under uvicorn (2 workers), PostgreSQL and the
Stripe emulator (its own process), twice side by side: as configured (psycopg 3 and its
pool) and with psycopg2, a new connection per request (bench/.venv-psycopg2), which is
what the shop ran before. Buyers are signed in by server-side sessions and carry a CSRF
cookie and header pair, so what is timed is the checkout alone. Each repetition has new
buyers and new products, and three rounds of 200 requests at once:

    bare view      the same 200 posts to /bench/bare/ (the framework's ceiling)
    flash sale     10 units for 200 buyers: 10 holds, 190 "sold out"
    ample stock    200 units for 200 buyers: 200 holds and 200 Stripe sessions

The database is then asked how many units are held: more than 10 would be overselling.

The issue's target: the flash sale round's p95 at most 3x the bare round's p95, on the
same server in the same repetition ("p95 x bare"), with no error and nothing oversold.
BENCH_BASELINE=<another checkout of the shop> adds a third server run from there (the
tree before a change): before and after in one run. BENCH_PSYCOPG2=0 leaves out the
psycopg2 server (it opens up to max_connections at once).
"""

from __future__ import annotations

import os
import sys

from bench import harness
from bench.harness import Options, Section, Timed, median, percentile, ratio, step

BUYERS = 200
UNITS = 10
TARGET_P95_RATIO = 3.0  # flash sale p95 over the bare round's p95, same server and repetition


def product_make(name: str, stock: int):
    from django.utils.text import slugify

    from catalog.inventory import stock_opening_record
    from catalog.models import Product

    product = Product.objects.create(
        name=name, slug=slugify(name), unit_amount=2500, currency="eur", stock_on_hand=stock
    )
    stock_opening_record(product=product)  # the ledger holds it: check_inventory agrees
    return product


def outcome(results: list[Timed], emulator_url: str) -> dict:
    """Holds (redirected to the emulator's payment page), refusals (back to the cart)
    and errors (anything else), with latencies in milliseconds."""
    holds = [r for r in results if r.status == 302 and r.location.startswith(emulator_url)]
    refused = [r for r in results if r.status == 302 and r.location.rstrip("/").endswith("/cart")]
    ok = [r for r in results if r.status == 200]  # the bare view
    errors = len(results) - len(holds) - len(refused) - len(ok)
    latencies = [r.seconds * 1000 for r in results if not r.error]
    return {
        "holds": len(holds),
        "refused": len(refused),
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "examples_of_errors": sorted(
            {
                f"{r.status} {r.location or r.error}"
                for r in results
                if r not in holds + refused + ok
            }
        )[:5],
    }


def held_units(product_id: int) -> dict:
    from django.db.models import Sum

    from catalog.models import Product, StockReservation
    from checkout.models import Order

    product = Product.objects.get(pk=product_id)
    held = (
        StockReservation.objects.active()
        .filter(product_id=product_id)
        .aggregate(total=Sum("quantity"))["total"]
        or 0
    )
    orders = Order.objects.filter(lines__product_id=product_id)
    return {
        "stock_on_hand": product.stock_on_hand,
        "units_held": held,
        "oversold": max(0, held - product.stock_on_hand),
        "orders_open": orders.filter(status=Order.Status.PENDING).count(),
        "orders_canceled": orders.filter(status=Order.Status.CANCELED).count(),
    }


def one_round(server: harness.Server, path: str, buyers: list[harness.Buyer], emulator_url: str):
    jobs = [("POST", path, b"", buyer.headers(server.base_url)) for buyer in buyers]
    pids = server.group_pids() + harness.database_pids()
    cpu = harness.process_cpu_seconds(pids)
    results, wall = harness.run_concurrently(server.base_url, jobs)
    figures = outcome(results, emulator_url)
    figures["wall_s"] = wall
    # CPU per request, the server's and PostgreSQL's (its backends started meanwhile
    # are missed): unlike latencies, it hardly moves when others share the machine.
    figures["cpu_ms"] = (harness.process_cpu_seconds(pids) - cpu) * 1000 / len(jobs)
    return figures


SERVERS = {
    "configured": "as configured: psycopg 3 + pool",
    "psycopg2": "psycopg2, no pool (before)",
    "baseline": "BENCH_BASELINE (before)",
}


def run(options: Options) -> dict:
    section = Section(f"3. Flash sale: {BUYERS} buyers at once for {UNITS} units")
    harness.django_setup()
    baseline = harness.baseline_root()
    with_psycopg2 = os.environ.get("BENCH_PSYCOPG2", "1") != "0"
    psycopg2_python = harness.comparison_python(harness.PSYCOPG2_VENV) if with_psycopg2 else ""
    with step("fresh database"):
        harness.database_reset()
        harness.collectstatic("whitenoise")
        if baseline is not None:
            harness.collectstatic("whitenoise", root=baseline)
    with harness.Processes() as processes:
        emulator = harness.Emulator()
        servers = {
            "configured": harness.Server(
                "flash-sale-configured",
                env={"STRIPE_API_BASE": emulator.base_url},
                label=SERVERS["configured"],
                expect={"driver": "psycopg", "pool": True},
            )
        }
        if with_psycopg2:
            servers["psycopg2"] = harness.Server(
                "flash-sale-psycopg2",
                python=psycopg2_python,
                env={"STRIPE_API_BASE": emulator.base_url, "BENCH_DB_POOL": "0"},
                label=SERVERS["psycopg2"],
                expect={"driver": "psycopg2", "pool": None},
            )
        if baseline is not None:
            servers["baseline"] = harness.Server(
                "flash-sale-baseline",
                env={"STRIPE_API_BASE": emulator.base_url},
                label=SERVERS["baseline"],
                root=baseline,
                expect={"driver": "psycopg", "pool": True},
            )
        rounds = {key: {"bare": [], "flash": [], "ample": []} for key in servers}
        checks: dict[str, list[dict]] = {key: [] for key in servers}
        with step(f"starting the Stripe emulator and {len(servers)} shops (2 workers each)"):
            processes.start(emulator)
            for server in servers.values():
                processes.start(server)
        for server in servers.values():
            section.say(f"{server.label}: pool {server.stack['pool'] or 'none'}")
        for rep in range(options.reps):
            keys = list(servers)
            order = keys[rep % len(keys) :] + keys[: rep % len(keys)]
            with step(
                f"repetition {rep + 1}/{options.reps}: {len(keys)} shops x 3 rounds of {BUYERS}"
            ):
                for key in order:
                    server = servers[key]
                    flash = product_make(f"Flash sale lantern {key} {rep}", UNITS)
                    ample = product_make(f"Ample stock mug {key} {rep}", BUYERS)
                    flash_buyers = harness.buyers_create(
                        count=BUYERS,
                        prefix=f"flash-{key}-{rep}",
                        carts=[{flash.pk: 1}],
                        backend=server.auth_backend,
                    )
                    ample_buyers = harness.buyers_create(
                        count=BUYERS,
                        prefix=f"ample-{key}-{rep}",
                        carts=[{ample.pk: 1}],
                        backend=server.auth_backend,
                    )
                    for name, path, buyers in (
                        ("bare", "/bench/bare/", flash_buyers),
                        ("flash", "/checkout/", flash_buyers),
                        ("ample", "/checkout/", ample_buyers),
                    ):
                        rounds[key][name].append(one_round(server, path, buyers, emulator.base_url))
                    checks[key].append(
                        {"flash": held_units(flash.pk), "ample": held_units(ample.pk)}
                    )
        errors = {key: _server_errors(server) for key, server in servers.items()}
    return report(section, rounds, checks, errors, options)


def _server_errors(server: harness.Server) -> dict[str, int]:
    """The last line of each traceback in the server's log, counted."""
    found: dict[str, int] = {}
    lines = server.log_path.read_text(errors="replace").splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = index + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            if end < len(lines):
                last = (
                    lines[end].split(":  ")[-1][:120] if "FATAL" in lines[end] else lines[end][:120]
                )
                found[last] = found.get(last, 0) + 1
    return found


def report(section: Section, rounds: dict, checks: dict, errors: dict, options: Options) -> dict:
    labels = {
        "bare": "bare view (reference)",
        "flash": f"flash sale: {UNITS} units",
        "ample": f"ample stock: {BUYERS} units",
    }
    summary: dict[str, dict] = {}
    rows = []
    for server_key, server_rounds in rounds.items():
        summary[server_key] = {}
        for key, runs in server_rounds.items():
            fig = summary[server_key][key] = {
                "holds": median(r["holds"] for r in runs),
                "refused": median(r["refused"] for r in runs),
                "errors": median(r["errors"] for r in runs),
                "p50_ms": median(r["p50_ms"] for r in runs),
                "p95_ms": median(r["p95_ms"] for r in runs),
                "wall_s": median(r["wall_s"] for r in runs),
                "cpu_ms": median(r["cpu_ms"] for r in runs),
            }
            fig["p95_x_bare"] = median(
                ratio(mine["p95_ms"], bare_run["p95_ms"])
                for mine, bare_run in zip(runs, server_rounds["bare"], strict=True)
            )
            bare = summary[server_key]["bare"]
            rows.append(
                [
                    SERVERS[server_key] if key == "bare" else "",
                    labels[key],
                    "-" if key == "bare" else int(fig["holds"]),
                    "-" if key == "bare" else int(fig["refused"]),
                    fig["errors"],
                    fig["p50_ms"],
                    fig["p95_ms"],
                    fig["p95_x_bare"],
                    fig["wall_s"],
                    ratio(bare["wall_s"], fig["wall_s"]),
                    fig["cpu_ms"],
                ]
            )
    section.say(
        f"{BUYERS} requests released together, one connection each; medians of {options.reps}"
    )
    section.say(
        harness.table(
            [
                "server",
                "round",
                "holds",
                "sold out",
                "errors",
                "p50 ms",
                "p95 ms",
                "p95 x bare",
                "all in s",
                "x bare",
                "CPU ms/req",
            ],
            rows,
        )
    )
    section.say(
        "p95 x bare: the round's p95 over the bare round's p95, per repetition (median); "
        "x bare: the bare round's time to answer all 200, over this round's"
    )
    shop = summary["configured"]["flash"]
    meets = shop["p95_x_bare"] <= TARGET_P95_RATIO and shop["errors"] == 0
    section.say(
        f"flash sale p95 {shop['p95_x_bare']:.2f}x the bare view's "
        f"({'meets' if meets else 'is ABOVE'} the target of at most {TARGET_P95_RATIO:g}x"
        f"{'' if shop['errors'] == 0 else ', with errors'})"
    )
    oversold = 0
    for server_key, server_checks in checks.items():
        held = [c["flash"]["units_held"] for c in server_checks]
        over = sum(c["flash"]["oversold"] + c["ample"]["oversold"] for c in server_checks)
        oversold += over
        section.say(
            f"{SERVERS[server_key]}: units held after each flash sale {held} of {UNITS}; "
            f"units oversold {over} (must be 0)"
        )
        for message, count in sorted(errors[server_key].items(), key=lambda item: -item[1])[:3]:
            section.say(f"  in the server log: {count} x {message}")
    return {
        "options": options.__dict__,
        "summary": summary,
        "runs": rounds,
        "database": checks,
        "server_errors": errors,
        "oversold": oversold,
        "p95_x_bare": shop["p95_x_bare"],
        "meets_target": meets,
        "lines": section.lines,
    }


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command(
        "flash_sale", __doc__, run, argv, lambda result: 1 if result["oversold"] else 0
    )


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
