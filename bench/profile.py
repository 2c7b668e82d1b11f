"""Where the catalog page's time goes: render it in-process and profile.

    python -m bench.profile [--path /] [--requests 200] [--seed] [--cprofile]

With pyinstrument, which the shop does not install: run from .venv, the command runs
itself again in bench/.venv-extras (.venv plus pyinstrument, made on first use);
`--cprofile` stays with cProfile in the current interpreter. Works on the bench
database as the catalog benchmark left it (run `python -m bench.catalog` first, or pass
--seed). The Django test client stands in for the server: what is measured is the view,
its queries, its templates and the middleware (the shop as configured: psycopg 3 + pool,
WhiteNoise), without uvicorn.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time

from bench import harness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/", help="the page to profile (default /)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", action="store_true", help="fresh database and products first")
    parser.add_argument("--cprofile", action="store_true", help="cProfile even with pyinstrument")
    args = parser.parse_args(argv)
    if not args.cprofile and importlib.util.find_spec("pyinstrument") is None:
        python = harness.comparison_python(harness.EXTRAS_VENV)
        arguments = sys.argv[1:] if argv is None else list(argv)
        return subprocess.run(
            [python, "-m", "bench.profile", *arguments], cwd=harness.BASE_DIR, check=False
        ).returncode
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
    from django.db import connection, reset_queries
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()

    def fetch():
        return client.get(args.path, secure=True)

    for _ in range(20):  # templates compiled, caches warm
        response = fetch()
    if response.status_code != 200:
        print(f"{args.path} answered {response.status_code}", file=sys.stderr)
        return 1
    settings.DEBUG = True  # only to count queries, after the warm-up
    reset_queries()
    fetch()
    queries = len(connection.queries)
    settings.DEBUG = False

    timings = {}
    for path in ("/bench/bare/", args.path):
        start = time.perf_counter()
        for _ in range(args.requests):
            client.get(path, secure=True)
        timings[path] = (time.perf_counter() - start) / args.requests * 1000
    print(
        f"{args.path}: {len(response.content):,} bytes, {queries} queries, "
        f"{timings[args.path]:.2f} ms per request in-process "
        f"(bare view {timings['/bench/bare/']:.2f} ms)\n"
    )

    if args.cprofile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            fetch()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return 0
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.requests):
        fetch()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
