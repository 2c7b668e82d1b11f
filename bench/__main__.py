"""`python -m bench` (and `make bench`): every benchmark, one after the other.

    python -m bench [--duration 4] [--reps 3] [--connections 8] [--poll-seconds 30] [--quick]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), wrk for the catalog
benchmark, Chromium for the measured half of the polling one, nginx and Redis for the
multi-host one; whatever is missing
is said, with how to install it. Figures go to the terminal and to bench/results/
(JSON per benchmark, summary.md for BENCHMARKS.md). About 10 minutes; the first run
also makes the comparison virtualenvs (bench/README.md), about a minute more.
"""

from __future__ import annotations

import sys
import time

from bench import (
    catalog,
    flash_sale,
    harness,
    multihost,
    polling,
    stripe_stall,
    webhooks,
    workers,
)


def summary_markdown(machine: dict, results: dict, options: harness.Options) -> str:
    lines = [
        f"Run of {machine['date']}: {machine['cpus']} CPUs, {machine['memory']}, "
        f"Python {machine['python']}, PostgreSQL {machine['postgresql']}, {machine['wrk']}; "
        f"`python -m bench --duration {options.duration:g} --reps {options.reps}`",
        "",
    ]
    for name, result in results.items():
        lines += [f"### {name}", "", "```", *result.get("lines", []), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = harness.options_parse(argv, description=__doc__.splitlines()[0])
    problem = harness.postgres_available()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    machine = harness.machine_info()
    print(
        f"machine: {machine['cpus']} CPUs, {machine['memory']}, Python {machine['python']}, "
        f"PostgreSQL {machine['postgresql']}, {machine['wrk'] or 'wrk missing'}"
    )
    if harness.wrk_path() is None:
        print(harness.WRK_MISSING)
    if polling.chromium_path() is None:
        print(harness.CHROMIUM_MISSING)
    started = time.monotonic()
    results: dict[str, dict] = {}
    for name, module in (
        ("catalog", catalog),
        ("polling", polling),
        ("flash_sale", flash_sale),
        ("webhooks", webhooks),
        ("stripe_stall", stripe_stall),
        ("workers", workers),
        ("multihost", multihost),
    ):
        results[name] = module.run(options)
        harness.results_write(name, results[name])
    path = harness.RESULTS_DIR / "summary.md"
    path.write_text(summary_markdown(machine, results, options))
    harness.results_write("machine", machine)
    print(f"\nall done in {time.monotonic() - started:.0f} s; figures in {path}")

    failures = []
    if results["catalog"].get("skipped"):
        failures.append("the catalog benchmark did not run (wrk missing, see above)")
    if results["flash_sale"]["oversold"]:
        failures.append("the flash sale oversold")
    if not results["webhooks"]["exactly_once"]:
        failures.append("the webhook storm did not fulfil every order exactly once")
    if not results["stripe_stall"].get("skipped") and not results["stripe_stall"]["meets_target"]:
        failures.append("the catalog slowed below 0.8x while checkouts hung on Stripe")
    if results["multihost"].get("failures"):
        failures += [f"several hosts: {failure}" for failure in results["multihost"]["failures"]]
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
