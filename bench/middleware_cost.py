"""What each middleware of the shop costs, and what the view costs, per request: CPU time
in-process, for the catalog page (anonymous and signed in with one item in the cart)
and the bare view.

    python -m bench.middleware_cost [--requests 2000] [--seed]

The shop's MIDDLEWARE is loaded with a probe between every two middleware; each probe
adds up the CPU time (time.process_time: it hardly moves when others share the
machine) of everything below it, so a middleware's own cost is its probe's total less
the next probe's. Requests are built with RequestFactory and go through Django's
synchronous handler (what config/asgi_handler.py runs in one thread per request): no
server, no ASGI, no test client. Works on the bench database as the catalog benchmark
left it (or --seed). Repeated three times; medians.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import harness

PROBES = 40


def _probe(index: int) -> type:
    class Probe:
        totals: list[float] = [0.0]

        def __init__(self, get_response: Callable[[Any], Any]):
            self.get_response = get_response

        def __call__(self, request):
            start = time.process_time()
            try:
                return self.get_response(request)
            finally:
                Probe.totals[0] += time.process_time() - start

    Probe.__name__ = Probe.__qualname__ = f"Probe{index}"
    return Probe


for _index in range(PROBES):
    globals()[f"Probe{_index}"] = _probe(_index)


def measure(
    middleware: list[str], make_request: Callable[[], Any], requests: int
) -> tuple[float, list[float], int]:
    """CPU ms per request: the whole chain, each middleware's own share, the view's
    share (everything below the last middleware); and the last answer's status."""
    from django.core.handlers.base import BaseHandler
    from django.test.utils import override_settings

    chain: list[str] = []
    for index, name in enumerate(middleware):
        chain += [f"bench.middleware_cost.Probe{index}", name]
    chain.append(f"bench.middleware_cost.Probe{len(middleware)}")
    # The probes as Django imports them (run as __main__, this module is another copy).
    module = importlib.import_module("bench.middleware_cost")
    probes = [getattr(module, f"Probe{i}") for i in range(len(middleware) + 1)]
    with override_settings(MIDDLEWARE=chain):
        handler = BaseHandler()
        handler.load_middleware()
        status = 0
        for _ in range(20):  # warm: templates, caches
            status = handler.get_response(make_request()).status_code
        for probe in probes:
            probe.totals[0] = 0.0
        start = time.process_time()
        for _ in range(requests):
            response = handler.get_response(make_request())
            response.close()
        whole = (time.process_time() - start) * 1000 / requests
    inclusive = [probe.totals[0] * 1000 / requests for probe in probes]
    own = [inclusive[i] - inclusive[i + 1] for i in range(len(middleware))]
    return whole, [*own, inclusive[-1]], status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", action="store_true", help="fresh database and products first")
    args = parser.parse_args(argv)
    problem = harness.postgres_available()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    harness.django_setup(BENCH_DB_POOL="1")  # the shop as configured, pool included
    if args.seed:
        from bench.catalog import catalog_seed

        harness.database_reset()
        catalog_seed()
        harness.collectstatic("whitenoise")

    from django.conf import settings
    from django.test import RequestFactory

    from catalog.models import Product

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    product = Product.objects.active().first()
    if product is None:
        print("no products: run python -m bench.catalog first, or pass --seed", file=sys.stderr)
        return 2
    buyer = harness.buyers_create(count=1, prefix=f"mw{time.time_ns()}", carts=[{product.pk: 1}])[0]
    factory = RequestFactory()
    signed_in = {"sessionid": buyer.session_key, "csrftoken": buyer.csrf_secret}

    def request(path: str, cookies: dict[str, str] | None = None) -> Callable[[], Any]:
        def make():
            made = factory.get(path, secure=True, HTTP_X_FORWARDED_PROTO="https")
            made.COOKIES.update(cookies or {})
            return made

        return make

    middleware = list(settings.MIDDLEWARE)
    targets = {
        "bare view": request("/bench/bare/"),
        "catalog, anonymous": request("/"),
        "catalog, signed in, 1 in cart": request("/", signed_in),
    }
    results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in targets}
    for _ in range(3):
        for name, make in targets.items():
            whole, shares, status = measure(middleware, make, args.requests)
            if status != 200:
                raise RuntimeError(f"{name}: answered {status}")
            results[name].append((whole, shares))
    rows = []
    labels = [*(m.rsplit(".", 1)[-1] for m in middleware), "the view (and below)"]
    medians = {
        name: [harness.median(run[1][i] for run in runs) for i in range(len(labels))]
        for name, runs in results.items()
    }
    for index, label in enumerate(labels):
        rows.append([label, *(medians[name][index] * 1000 for name in targets)])
    rows.append(
        [
            "whole request (probes included)",
            *(harness.median(run[0] for run in runs) * 1000 for runs in results.values()),
        ]
    )
    print(f"CPU microseconds per request, medians of 3 x {args.requests} requests")
    print(harness.table(["", *targets], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
