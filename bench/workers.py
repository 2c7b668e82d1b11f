"""Benchmark 8: do both workers serve? A few keep-alive connections opened together,
against config.serve with a listening socket per worker (SO_REUSEPORT, the default) and
with uvicorn's one shared socket (`--no-reuse-port`, as before).

    python -m bench.workers [--reps 3]

Each server is the shop as configured (2 workers). A trial is one wrk run of 2 s with 4,
then 8 connections (wrk opens them all at once, as a proxy's keep-alive pool does when it
starts), on /bench/bare/; half a second in, the connections each worker
holds are counted from /proc. Unlike bench.catalog's wrk, nothing is restarted when one
worker holds them all: that is what is measured. 10 trials per server per repetition,
the servers taking turns.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench import harness
from bench.harness import Options, Section, median, step

TRIALS = 10
SECONDS = 2


def trial(server: harness.Server, connections: int) -> tuple[list[int], float]:
    """One wrk run: the connections per worker, half a second in, and requests/s."""
    argv = [
        harness.wrk_path() or "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{SECONDS}s",
        "--latency",
        "-H",
        "X-Forwarded-Proto: https",
        server.base_url + "/bench/bare/",
    ]
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        spread = harness.worker_connections(server)
        stdout, stderr = run.communicate(timeout=SECONDS + 30)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed: {stderr or stdout}")
    return spread, harness.WrkResult.parse(stdout).rps


CONNECTIONS = (4, 8)


def run(options: Options) -> dict:
    section = Section(
        f"8. Both workers: {' or '.join(map(str, CONNECTIONS))} keep-alive connections "
        f"opened together, {TRIALS} trials per server and count"
    )
    if harness.wrk_path() is None:
        section.say(harness.WRK_MISSING)
        return {"skipped": "wrk missing", "lines": section.lines}
    harness.django_setup()
    with step("fresh database"):
        harness.database_reset()
        harness.collectstatic("whitenoise")
    servers = {
        "reuse_port": ("a listening socket per worker (SO_REUSEPORT, config.serve)", []),
        "shared": ("one shared socket (--no-reuse-port, uvicorn's way)", ["--no-reuse-port"]),
    }
    results: dict[tuple[str, int], list[tuple[list[int], float]]] = {
        (key, count): [] for count in CONNECTIONS for key in servers
    }
    with harness.Processes() as processes:
        started = {}
        with step("starting two shops (2 workers each)"):
            for key, (label, args) in servers.items():
                started[key] = harness.Server(
                    f"workers-{key}", label=label, serve_args=args, expect={"pool": True}
                )
                processes.start(started[key])
        for rep in range(options.reps):
            with step(f"repetition {rep + 1}/{options.reps}: {TRIALS} trials each"):
                for _ in range(TRIALS):
                    for count in CONNECTIONS:
                        for key, server in started.items():
                            results[key, count].append(trial(server, count))
    rows = []
    summary = {}
    for (key, count), runs in results.items():
        both = sum(1 for spread, _ in runs if harness.every_worker_used(spread, 2))
        busier = [max(spread) / max(1, sum(spread)) for spread, _ in runs if spread]
        summary[f"{key}-{count}"] = {
            "connections": count,
            "trials": len(runs),
            "both_workers": both,
            "busier_share": median(busier),
            "rps": median(rps for _, rps in runs),
            "rps_both": median(rps for spread, rps in runs if harness.every_worker_used(spread, 2)),
            "rps_one": median(
                rps for spread, rps in runs if not harness.every_worker_used(spread, 2)
            ),
            "spreads": [spread for spread, _ in runs],
        }
        fig = summary[f"{key}-{count}"]
        rows.append(
            [
                servers[key][0],
                count,
                f"{both}/{len(runs)}",
                fig["busier_share"],
                fig["rps"],
                fig["rps_both"],
                fig["rps_one"],
            ]
        )
    section.say(
        harness.table(
            [
                "server",
                "connections",
                "both workers served",
                "busier worker's share",
                "req/s",
                "req/s (both)",
                "req/s (one)",
            ],
            rows,
        )
    )
    section.say(
        "share: of the connections, held by the busier worker (0.5 is even); req/s medians "
        "over all trials, over the trials where both workers served, where one did"
    )
    return {"summary": summary, "lines": section.lines}


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command("workers", __doc__, run, argv, lambda result: 0)


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
