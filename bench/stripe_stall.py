"""Benchmark 6: the catalog while eight checkouts hang on a stalled Stripe.

    python -m bench.stripe_stall [--duration 4] [--reps 3] [--connections 8]

The shop under uvicorn (2 workers, psycopg 3's pool of 4 per worker, as configured) and
the Stripe emulator. wrk measures the catalog page in two states, one after the other
in each repetition:

    answering   Stripe answers at once; no checkout is in flight
    stalled     Stripe answers Checkout Session calls after 25 s (the emulator's API
                latency on /v1/checkout/sessions); eight signed-in buyers post "Check
                out" over and over, each waiting until the shopper's time budget
                (10 s) ends it with "Payments are slow right now"; each buyer keeps
                one connection, four in each worker (as many as its pool holds)

Two pages: signed in (rendered per request, so every request needs a pooled
connection) and anonymous (the 2-second page cache: mostly no query). Each stall is
measured between two "answering" measurements; the ratio is the stall's rate over their
mean (the machine is shared: this cancels its drift), the median over repetitions. The
target is at least 0.8.

Beside the shop as configured, the shop as it was before (BENCH_HOLD_DB_CONNECTIONS=1:
a checkout keeps its connection while it waits on Stripe) runs the same rounds, to
show what giving the connection back saves. Both run with BENCH_STRIPE_STALL=1 (the
breaker never opens, no per-shopper checkout limit), so that the checkouts go on
waiting on Stripe for the whole measurement instead of failing fast.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field

from bench import harness
from bench.catalog import catalog_seed
from bench.harness import Options, Section, WrkResult, median, ratio, step

TARGET_RATIO = 0.8
CHECKOUTS = 8
STRIPE_LATENCY = 25  # seconds: longer than the shopper's budget, as in the issue
SETTLE_SECONDS = 2.0  # after the checkouts start, before wrk: all of them are waiting

SERVERS = {
    "configured": "as configured: connections given back during Stripe calls",
    "hold": "before: connection held during Stripe calls",
}
PAGES = {"signed_in": "catalog, signed in", "anonymous": "catalog, anonymous"}


SPLIT_ATTEMPTS = 20  # connection sets opened until the checkouts split evenly


@dataclass
class Stall:
    """Eight buyers posting "Check out" in a loop, each over its own keep-alive
    connection, until stopped; every answer is kept (status, Location, seconds).

    The connections are opened first and kept only once they are spread evenly over the
    server's workers (4 and 4): the shop before this change starves a worker only when
    as many checkouts wait in it as its pool has connections, so an uneven split would
    measure luck. `split` is what the workers held; `attempts` how many sets it took.
    """

    server: harness.Server
    buyers: list[harness.Buyer]
    answers: list[harness.Timed] = field(default_factory=list)
    split: list[int] = field(default_factory=list)
    attempts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        clients: list[harness.KeepAlive] = []
        for attempt in range(1, SPLIT_ATTEMPTS + 1):
            clients = [harness.KeepAlive(self.server.base_url) for _ in self.buyers]
            for client in clients:
                client.connect()
            time.sleep(0.2)  # accepted by the workers
            self.split, self.attempts = harness.worker_connections(self.server), attempt
            even = len(self.buyers) // self.server.workers
            if self.split == [even] * self.server.workers:
                break
            for client in clients:
                client.close()
        for buyer, client in zip(self.buyers, clients, strict=True):
            thread = threading.Thread(target=self._loop, args=(buyer, client), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _loop(self, buyer: harness.Buyer, client: harness.KeepAlive) -> None:
        headers = buyer.headers(self.server.base_url)
        try:
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    status, response_headers, _ = client.request(
                        "POST", "/checkout/", body=b"", headers=headers
                    )
                    location = response_headers.get("location", "")
                    self.answers.append(
                        harness.Timed(status, time.perf_counter() - start, location)
                    )
                except OSError as exc:
                    client.close()
                    elapsed = time.perf_counter() - start
                    self.answers.append(harness.Timed(0, elapsed, error=str(exc)))
        finally:
            client.close()

    def stop(self) -> None:
        """Ask the loops to stop and wait for the checkouts in flight (one budget)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=STRIPE_LATENCY + 15)


def api_faults(emulator: harness.Emulator, changes: dict | None) -> None:
    method, body = ("POST", json.dumps(changes).encode()) if changes else ("DELETE", None)
    status, _, text, _ = harness.http_request(
        method,
        emulator.base_url + "/_emulator/api_faults",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    if status != 200:
        raise RuntimeError(f"emulator api_faults answered {status}: {text[:200]!r}")


def warm_up(server: harness.Server, cookie: dict) -> None:
    """Templates compiled and product cards rendered in both workers before any figure
    is taken (each fresh connection may land in either worker)."""
    for _ in range(10):
        for headers in (cookie, {}):
            status, _, _ = harness.http_get(
                server.base_url + "/", headers={**harness.PROXY_HEADERS, **headers}, timeout=60
            )
            if status != 200:
                raise RuntimeError(f"{server.name}: the catalog page answered {status}")


def measure(
    server: harness.Server, headers: dict, options: Options, *, held_per_worker: int = 0
) -> dict[str, WrkResult]:
    """Both pages under wrk, wrk's connections on both workers (the stalled checkouts'
    own connections, `held_per_worker` in each, left out of that check)."""
    return {
        page: harness.wrk(
            server.base_url + "/",
            duration=options.duration,
            connections=options.connections,
            headers=headers if page == "signed_in" else None,
            server=server,
            held_per_worker=held_per_worker,
        )
        for page in PAGES
    }


def run(options: Options) -> dict:
    section = Section(f"6. The catalog while {CHECKOUTS} checkouts hang on Stripe")
    if harness.wrk_path() is None:
        section.say(harness.WRK_MISSING)
        return {"skipped": "wrk missing", "lines": section.lines}
    harness.django_setup()
    with step("fresh database, demo catalog, buyers"):
        harness.database_reset()
        harness.collectstatic("whitenoise")
        catalog_seed()
        from catalog.models import Product

        product = Product.objects.active().first()
        Product.objects.filter(pk=product.pk).update(stock_on_hand=10_000)
        buyers = {
            key: harness.buyers_create(
                count=CHECKOUTS, prefix=f"stall-{key}", carts=[{product.pk: 1}]
            )
            for key in SERVERS
        }
        browsing = harness.buyers_create(count=1, prefix="stall-browsing", carts=[{}])[0]
    cookie = {"Cookie": f"sessionid={browsing.session_key}"}

    runs: dict[str, dict[str, dict[str, list[WrkResult]]]] = {
        key: {state: {page: [] for page in PAGES} for state in ("answering", "stalled")}
        for key in SERVERS
    }
    answers: dict[str, list[harness.Timed]] = {key: [] for key in SERVERS}
    splits: dict[str, list[tuple[list[int], int]]] = {key: [] for key in SERVERS}
    with harness.Processes() as processes:
        emulator = harness.Emulator()
        servers = {
            key: harness.Server(
                f"stripe-stall-{key}",
                env={
                    "STRIPE_API_BASE": emulator.base_url,
                    "BENCH_STRIPE_STALL": "1",
                    **({"BENCH_HOLD_DB_CONNECTIONS": "1"} if key == "hold" else {}),
                },
                label=SERVERS[key],
                expect={
                    "driver": "psycopg",
                    "pool": True,
                    "release_db_connections": key == "configured",
                },
            )
            for key in SERVERS
        }
        with step("starting the Stripe emulator and two shops (uvicorn, 2 workers each)"):
            processes.start(emulator)
            for server in servers.values():
                processes.start(server)
        with step("warming up: both pages, a few times in each worker"):
            for server in servers.values():
                warm_up(server, cookie)
        for rep in range(options.reps):
            order = list(SERVERS)[rep % 2 :] + list(SERVERS)[: rep % 2]
            for key in order:
                server = servers[key]
                with step(f"repetition {rep + 1}/{options.reps}, {key}: Stripe answering"):
                    api_faults(emulator, None)
                    for page, result in measure(server, cookie, options).items():
                        runs[key]["answering"][page].append(result)
                with step(f"repetition {rep + 1}/{options.reps}, {key}: Stripe stalled"):
                    api_faults(
                        emulator,
                        {"latency": STRIPE_LATENCY, "paths": ["/v1/checkout/sessions"]},
                    )
                    stall = Stall(server, buyers[key])
                    stall.start()
                    try:
                        time.sleep(SETTLE_SECONDS)
                        held = min(stall.split) if stall.split else 0
                        stalled = measure(server, cookie, options, held_per_worker=held)
                        for page, result in stalled.items():
                            runs[key]["stalled"][page].append(result)
                    finally:
                        stall.stop()
                        api_faults(emulator, None)
                    answers[key] += stall.answers
                    splits[key].append((stall.split, stall.attempts))
                with step(f"repetition {rep + 1}/{options.reps}, {key}: Stripe answering again"):
                    for page, result in measure(server, cookie, options).items():
                        runs[key]["answering"][page].append(result)
    return report(section, runs, answers, splits, servers, options)


def checkout_outcome(answers: list[harness.Timed]) -> dict:
    """The stalled checkouts' answers: back to the cart with the message (302 to
    /cart/), anything else an error; seconds each took."""
    to_cart = [a for a in answers if a.status == 302 and a.location.rstrip("/").endswith("/cart")]
    seconds = [a.seconds for a in to_cart]
    return {
        "answers": len(answers),
        "back_to_cart": len(to_cart),
        "errors": len(answers) - len(to_cart),
        "median_s": median(seconds),
        "max_s": max(seconds) if seconds else float("nan"),
        "statuses": sorted({a.status for a in answers}),
    }


def report(
    section: Section,
    runs: dict,
    answers: dict[str, list[harness.Timed]],
    splits: dict[str, list[tuple[list[int], int]]],
    servers: dict[str, harness.Server],
    options: Options,
) -> dict:
    summary: dict[str, dict] = {}
    rows = []
    for key, states in runs.items():
        summary[key] = {}
        for page, label in PAGES.items():
            answering = states["answering"][page]  # before and after each stall
            stalled = states["stalled"][page]
            paired = [
                ratio(s.rps, (before.rps + after.rps) / 2)
                for before, after, s in zip(answering[::2], answering[1::2], stalled, strict=True)
            ]
            figures = summary[key][page] = {
                "answering_rps": median(r.rps for r in answering),
                "stalled_rps": median(r.rps for r in stalled),
                "stalled_p99_ms": median(r.p99_ms for r in stalled),
                "stalled_errors": median(r.errors for r in stalled),
                "ratio": median(paired),
                "ratios": paired,
            }
            rows.append(
                [
                    SERVERS[key] if page == "signed_in" else "",
                    label,
                    figures["answering_rps"],
                    figures["stalled_rps"],
                    figures["stalled_p99_ms"],
                    figures["stalled_errors"],
                    figures["ratio"],
                ]
            )
    section.say(
        f"wrk {options.duration:g} s, {options.connections} connections, medians of "
        f"{options.reps}; pool {servers['configured'].stack['pool']} per worker"
    )
    section.say(
        harness.table(
            [
                "server",
                "page",
                "answering req/s",
                "stalled req/s",
                "stalled p99 ms",
                "errors",
                "stalled / answering",
            ],
            rows,
        )
    )
    outcomes = {key: checkout_outcome(found) for key, found in answers.items()}
    for key, outcome in outcomes.items():
        section.say(
            f"{SERVERS[key]}: {outcome['answers']} stalled checkouts answered, "
            f"{outcome['back_to_cart']} back to the cart with the message (median "
            f"{outcome['median_s']:.1f} s, longest {outcome['max_s']:.1f} s), "
            f"{outcome['errors']} otherwise {outcome['statuses']}; waiting checkouts per "
            f"worker {[split for split, _ in splits[key]]}"
        )
    signed_in = summary["configured"]["signed_in"]["ratio"]
    verdict = "meets" if signed_in >= TARGET_RATIO else "is BELOW"
    section.say(
        f"\nsigned-in catalog while {CHECKOUTS} checkouts hang: {signed_in:.2f}x its rate with "
        f"Stripe answering, which {verdict} the {TARGET_RATIO}x target"
    )
    return {
        "options": options.__dict__,
        "summary": summary,
        "runs": runs,
        "checkouts": outcomes,
        "splits": splits,
        "meets_target": signed_in >= TARGET_RATIO,
        "lines": section.lines,
    }


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command(
        "stripe_stall",
        __doc__,
        run,
        argv,
        lambda result: 3 if result.get("skipped") else 0 if result["meets_target"] else 1,
    )


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
