"""Benchmark 1 (and 5): the catalog page and the stock badge endpoint under wrk.

    python -m bench.catalog [--duration 4] [--reps 3] [--connections 8]

Five servers run side by side (uvicorn, 2 workers each, the bench database), the shop
as configured and four variants that each change one thing:

    configured     psycopg 3 + pool, WhiteNoise, started through config/serve.py
    psycopg2       psycopg2 (no pool: it has none), bench/.venv-psycopg2
    no pool        psycopg 3 without its pool (tells the driver from the pool)
    servestatic    servestatic's middleware and storage in WhiteNoise's place,
                   bench/.venv-extras
    uvicorn CLI    plain `uvicorn --workers 2`, without config/serve.py's TCP_NODELAY

and two references: the bare app (bench/bare_app.py: Django with no middleware at all,
one view, served the same way: the framework's ceiling, against which the catalog's
targets are set) and, with BENCH_BASELINE=<another checkout of the shop>, that shop
(the tree before a change). BENCH_CATALOG_VARIANTS=configured,baseline (keys, comma-
separated) measures only those (the bare app always). The catalog page is measured for
an anonymous visitor and for a signed-in shopper with one item in the cart.

Measurements go target by target, every server in turn (a different one first in each
repetition), so figures compared with each other are seconds apart. Each server's own
bare view is the reference of its "x bare" ratios; "paired" ratios compare a variant
with the shop as configured, repetition by repetition.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench import harness
from bench.harness import Options, Section, WrkResult, median, ratio, step

CATALOG_TARGET_RATIO = 0.6  # the anonymous catalog page against the bare app
SIGNED_IN_TARGET_RATIO = 0.35  # signed in, one item in the cart, against the bare app
TIE = 0.05  # differences below 5 % are noise on this machine: keep what is there

# What /bench/stack/ answers for the shop as configured (config/settings.py).
CONFIGURED = {"driver": "psycopg", "static": "whitenoise"}


@dataclass
class Variant:
    key: str
    label: str
    targets: list[str]
    env: dict[str, str] = field(default_factory=dict)
    venv: harness.ComparisonVenv | None = None  # None: .venv, the shop's own
    nodelay: bool = True  # False: uvicorn's own command line (config/serve.py says why)
    expect: dict = field(default_factory=dict)  # checked against /bench/stack/
    app: str = "config.asgi:application"  # another ASGI application (the bare app)
    root: Path = harness.BASE_DIR  # another checkout of the shop (BENCH_BASELINE)
    server: harness.Server | None = None
    results: dict[str, list[WrkResult]] = field(default_factory=dict)


def variants() -> list[Variant]:
    """The shop as configured first: every paired ratio is against it; the bare app
    last (it is the reference of the x bare app ratios, not a variant)."""
    chosen = os.environ.get("BENCH_CATALOG_VARIANTS", "")
    keep = {key.strip() for key in chosen.split(",") if key.strip()} | {
        "configured",
        *REFERENCES,
    }
    baseline = harness.baseline_root()
    every = [
        Variant(
            "configured",
            "as configured: psycopg 3 + pool, whitenoise, config.serve",
            ["bare", "catalog", "catalog_signed", "badges_200", "badges_304", "static"],
            expect={**CONFIGURED, "pool": True},
        ),
        Variant(
            "psycopg2",
            "psycopg2 (no pool)",
            ["bare", "catalog", "badges_304"],
            env={"BENCH_DB_POOL": "0"},
            venv=harness.PSYCOPG2_VENV,
            expect={**CONFIGURED, "driver": "psycopg2", "pool": None},
        ),
        Variant(
            "no_pool",
            "psycopg 3, no pool",
            ["bare", "catalog", "badges_304"],
            env={"BENCH_DB_POOL": "0"},
            expect={**CONFIGURED, "pool": None},
        ),
        Variant(
            "servestatic",
            "servestatic in whitenoise's place",
            ["bare", "catalog", "static"],
            env={"BENCH_STATIC_SERVER": "servestatic"},
            venv=harness.EXTRAS_VENV,
            expect={**CONFIGURED, "static": "servestatic"},
        ),
        Variant(
            "uvicorn_cli",
            "plain `uvicorn --workers 2` (Nagle on)",
            ["bare", "catalog", "badges_304"],
            nodelay=False,
            expect=CONFIGURED,
        ),
    ]
    if baseline is not None:
        every.append(
            Variant(
                "baseline",
                f"BENCH_BASELINE (before): {baseline}",
                ["bare", "catalog", "catalog_signed"],
                root=baseline,
                expect={**CONFIGURED, "pool": True},
            )
        )
    every.append(
        Variant(
            "bare_app",
            "bare app: Django, no middleware (bench/bare_app.py)",
            ["bare"],
            app="bench.bare_app:application",
        )
    )
    every.append(
        Variant(
            "bare_app_shop_handler",
            "bare app behind the shop's handler (config/asgi_handler.py)",
            ["bare"],
            app="bench.bare_app:shop_handler_application",
        )
    )
    return [v for v in every if not chosen or v.key in keep]


# The references of the "x bare app" ratios, not variants of the shop.
REFERENCES = ("bare_app", "bare_app_shop_handler")


TARGET_LABELS = {
    "bare": "bare view (reference)",
    "catalog": "catalog page, 24 products",
    "catalog_signed": "catalog page, signed in, 1 in cart",
    "badges_200": "badges, 200 (changed)",
    "badges_304": "badges, 304 (unchanged)",
    "static": "static CSS (gzip)",
}


SHORT_LABELS = {
    "bare": "bare",
    "catalog": "catalog",
    "catalog_signed": "signed in",
    "badges_200": "badges 200",
    "badges_304": "badges 304",
    "static": "static",
}

# A variant's key: (the question, the shop's answer, the variant's answer).
DECISIONS = {
    "psycopg2": ("database driver", "psycopg 3 + pool", "psycopg2"),
    "no_pool": ("connection pool", "psycopg 3's pool", "no pool"),
    "servestatic": ("static files", "whitenoise", "servestatic"),
    "uvicorn_cli": ("launcher", "config.serve", "plain uvicorn --workers 2"),
}


def compare(paired: dict[str, float]) -> str:
    """A variant against the shop as configured, from its paired ratios: "faster" (or
    "slower") beyond noise on some target and not the other way on any, "mixed" when
    both, "same" when neither. The shop's choice is kept unless the variant is faster."""
    better = any(value > 1 + TIE for value in paired.values())
    worse = any(value < 1 - TIE for value in paired.values())
    if better and worse:
        return "mixed"
    return "faster" if better else "slower" if worse else "same"


def catalog_seed() -> list[int]:
    """48 demo products (two pages of 24), pictures included; ids of the first page."""
    from catalog.demo import catalog_seed_demo
    from catalog.models import Product

    shutil.rmtree(harness.BENCH_DIR / ".media", ignore_errors=True)
    catalog_seed_demo(count=48)
    return list(Product.objects.active().values_list("pk", flat=True)[:24])


@dataclass
class Probe:
    """What one look at a server's pages tells the benchmark."""

    products_on_page: int
    badge_ids: str
    poll_seconds: int
    etag: str
    status_304_path: int  # what the badge endpoint answers with If-None-Match: etag
    static_path: str
    signed_in_cookie: str = ""  # a shopper signed in with one item in the cart


def signed_in_buyer(server: harness.Server) -> str:
    """The Cookie header of a shopper signed in to `server` with one item in the cart."""
    from catalog.models import Product

    product_id = Product.objects.active().values_list("pk", flat=True).first()
    buyer = harness.buyers_create(
        count=1,
        prefix=f"catalog-signed-{server.name}",
        carts=[{product_id: 1}],
        backend=server.auth_backend,
    )[0]
    return f"sessionid={buyer.session_key}; csrftoken={buyer.csrf_secret}"


def probe(server: harness.Server, signed_in_cookie: str = "") -> Probe:
    status, _, body = harness.http_get(server.base_url + "/", headers=harness.PROXY_HEADERS)
    if status != 200:
        raise RuntimeError(f"{server.name}: the catalog page answered {status}")
    page = body.decode()
    poller = re.search(r'<div id="stock-poller".*?</div>', page, re.DOTALL)
    if poller is None:
        raise RuntimeError("the catalog page has no #stock-poller")
    ids = re.search(r"badges/\?ids=([\d,]+)", poller.group(0))
    seconds = re.search(r'hx-trigger="every (\d+)s', poller.group(0))
    css = re.search(r'href="(/static/css/dist/styles[^"]*\.css)"', page)
    if not (ids and seconds and css):
        raise RuntimeError("could not read the poller's ids, its interval or the stylesheet")
    badges = f"{server.base_url}/products/badges/?ids={ids.group(1)}"
    htmx = {**harness.PROXY_HEADERS, "HX-Request": "true"}
    status, headers, _ = harness.http_get(badges, headers=htmx)
    etag = headers.get("etag", "")
    if status != 200 or not etag:
        raise RuntimeError(f"badges answered {status} without an ETag")
    status_304, _, _ = harness.http_get(badges, headers={**htmx, "If-None-Match": etag})
    return Probe(
        products_on_page=page.count("<article"),
        badge_ids=ids.group(1),
        poll_seconds=int(seconds.group(1)),
        etag=etag,
        status_304_path=status_304,
        static_path=css.group(1),
        signed_in_cookie=signed_in_cookie,
    )


def target_request(target: str, server: harness.Server, found: Probe) -> tuple[str, dict]:
    base = server.base_url
    htmx = {"HX-Request": "true"}
    if target == "bare":
        return base + "/bench/bare/", {}
    if target == "catalog":
        return base + "/", {}
    if target == "catalog_signed":
        return base + "/", {"Cookie": found.signed_in_cookie}
    if target == "badges_200":
        return f"{base}/products/badges/?ids={found.badge_ids}", htmx
    if target == "badges_304":
        return (
            f"{base}/products/badges/?ids={found.badge_ids}",
            {**htmx, "If-None-Match": found.etag},
        )
    if target == "static":
        return base + found.static_path, {"Accept-Encoding": "gzip"}
    raise ValueError(target)


def run(options: Options) -> dict:
    section = Section("1. Catalog page and stock badges, under wrk (with 5: the load tool)")
    if harness.wrk_path() is None:
        section.say(harness.WRK_MISSING)
        return {"skipped": "wrk missing", "lines": section.lines}
    harness.django_setup()
    chosen = variants()
    pythons = {
        venv.name: harness.comparison_python(venv) for venv in {v.venv for v in chosen if v.venv}
    }
    with step("fresh database, 48 demo products"):
        harness.database_reset()
        catalog_seed()
    with step("collectstatic"):
        harness.collectstatic("whitenoise")
        if harness.EXTRAS_VENV.name in pythons:
            harness.collectstatic("servestatic", python=pythons[harness.EXTRAS_VENV.name])
        for root in {v.root for v in chosen if v.root != harness.BASE_DIR}:
            harness.collectstatic("whitenoise", root=root)

    with harness.Processes() as processes:
        with step(f"starting {len(chosen)} servers (uvicorn, 2 workers each)"):
            for variant in chosen:
                variant.server = harness.Server(
                    f"catalog-{variant.key}",
                    python=pythons[variant.venv.name] if variant.venv else sys.executable,
                    env=variant.env,
                    label=variant.label,
                    nodelay=variant.nodelay,
                    expect=variant.expect,
                    app=variant.app,
                    root=variant.root,
                )
                processes.start(variant.server)
        for variant in chosen:
            if variant.key in REFERENCES:
                continue
            stack = variant.server.stack
            section.say(
                f"{variant.label}: {stack['driver']} {stack['driver_version']}, pool "
                f"{stack['pool'] or 'none'}, static files by {stack['static']}"
            )
        probes = {
            variant.key: probe(variant.server, signed_in_buyer(variant.server))
            for variant in chosen
            if variant.key not in REFERENCES
        }
        for key in REFERENCES:
            probes[key] = probes["configured"]  # they have only the bare view
        found = probes["configured"]
        section.say(
            f"page: {found.products_on_page} products, poller every {found.poll_seconds} s "
            f"for ids {found.badge_ids[:30]}..."
        )
        if found.status_304_path != 304:
            section.say(
                f"NOTE: with If-None-Match set to the current ETag the badge endpoint "
                f"answered {found.status_304_path}, not 304: the 'badges, 304' row below "
                "measures that answer (see BENCHMARKS.md)."
            )
        with step("warm-up, 1 s per target"):
            for variant in chosen:
                for target in variant.targets:
                    url, headers = target_request(target, variant.server, probes[variant.key])
                    harness.wrk(url, duration=1, connections=options.connections, headers=headers)
        # Target by target, every server in turn (a different one first each time):
        # the figures compared with each other are measured within seconds.
        targets = list(TARGET_LABELS)
        runs = sum(len(v.targets) for v in chosen)
        for rep in range(options.reps):
            order = chosen[rep % len(chosen) :] + chosen[: rep % len(chosen)]
            with step(
                f"repetition {rep + 1}/{options.reps}: {runs} runs of {options.duration:.0f} s"
            ):
                for target in targets:
                    for variant in order:
                        if target not in variant.targets:
                            continue
                        url, headers = target_request(target, variant.server, probes[variant.key])
                        result = harness.wrk(
                            url,
                            duration=options.duration,
                            connections=options.connections,
                            headers=headers,
                            server=variant.server,
                        )
                        variant.results.setdefault(target, []).append(result)

    return report(section, chosen, found, options)


def _median_of(results: list[WrkResult]) -> dict[str, float]:
    return {
        "rps": median(r.rps for r in results),
        "p50_ms": median(r.p50_ms for r in results),
        "p99_ms": median(r.p99_ms for r in results),
        "cpu_ms": median(r.cpu_ms for r in results),
        "errors": sum(r.errors for r in results),
    }


def against_bare_app(variant: Variant, bare_app: Variant) -> dict[str, dict[str, float]]:
    """Each target of `variant` over the bare app's bare view, measured seconds apart in
    the same repetition: the median of those ratios, for requests/s and (inverted) for
    the CPU the server spent per request, with the per-repetition ratios."""
    reference = bare_app.results["bare"]
    found = {}
    for target in variant.targets:
        mine = variant.results[target]
        rps = [ratio(m.rps, b.rps) for m, b in zip(mine, reference, strict=True)]
        cpu = [ratio(b.cpu_ms, m.cpu_ms) for m, b in zip(mine, reference, strict=True)]
        found[target] = {"rps": median(rps), "cpu": median(cpu), "each": rps}
    return found


def ceiling_report(
    section: Section, chosen: list[Variant], reference_key: str, title: str
) -> dict[str, dict[str, dict[str, float]]]:
    """The shop's targets (and the baseline's) over the reference `reference_key`, one of
    REFERENCES, said as a table under `title`; {} when that reference did not run."""
    reference = next((v for v in chosen if v.key == reference_key), None)
    if reference is None:
        return {}
    ceiling = {
        variant.key: against_bare_app(variant, reference)
        for variant in chosen
        if variant.key in ("configured", "baseline")
    }
    labels = {v.key: v.label for v in chosen}
    section.say("\n" + title)
    section.say(
        harness.table(
            ["server", "target", "x bare app (req/s)", "x bare app (CPU)", "each repetition"],
            [
                [
                    labels[key] if target == "bare" else "",
                    TARGET_LABELS[target],
                    against["rps"],
                    against["cpu"],
                    " ".join(f"{x:.2f}" for x in against["each"]),
                ]
                for key, targets in ceiling.items()
                for target, against in targets.items()
            ],
        )
    )
    return ceiling


def report(section: Section, chosen: list[Variant], found: Probe, options: Options) -> dict:
    figures: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for variant in chosen:
        figures[variant.key] = {}
        bare = _median_of(variant.results["bare"])
        for target in variant.targets:
            fig = _median_of(variant.results[target])
            fig["ratio"] = ratio(fig["rps"], bare["rps"])
            figures[variant.key][target] = fig
            rows.append(
                [
                    variant.label if target == variant.targets[0] else "",
                    TARGET_LABELS[target],
                    fig["rps"],
                    fig["p50_ms"],
                    fig["p99_ms"],
                    fig["cpu_ms"],
                    fig["ratio"],
                    int(fig["errors"]),
                ]
            )
    section.say(
        f"wrk -t2 -c{options.connections} -d{options.duration:.0f}s, "
        f"medians of {options.reps}; ratio = requests/s against the same server's bare view; "
        "CPU ms: the server's processes' CPU time per request"
    )
    section.say(
        harness.table(
            ["server", "target", "req/s", "p50 ms", "p99 ms", "CPU ms", "x bare", "errors"], rows
        )
    )
    ceiling = ceiling_report(
        section,
        chosen,
        "bare_app",
        "against the bare app (Django with no middleware, served the same way): "
        "requests/s and CPU per request, medians of per-repetition ratios",
    )

    # Paired comparisons: in each repetition, a variant's figure over the configured
    # shop's figure for the same target (measured within the same minute), then the
    # median of those ratios. Slow drifts of a shared machine cancel out.
    shop_runs = chosen[0].results
    paired: dict[str, dict[str, float]] = {}
    for variant in chosen[1:]:
        if variant.key in REFERENCES:
            continue
        paired[variant.key] = {
            target: median(
                ratio(mine.rps, theirs.rps)
                for mine, theirs in zip(variant.results[target], shop_runs[target], strict=True)
            )
            for target in variant.targets
            if target in shop_runs
        }
    measured = [(v.server, r) for v in chosen for rs in v.results.values() for r in rs]
    repeated = sum(r.attempts - 1 for _, r in measured)
    one_sided = sum(not harness.every_worker_used(r.spread, s.workers) for s, r in measured)
    section.say(
        f"{len(measured)} measurements, each served by both workers after {repeated} extra "
        f"runs (one worker had taken every connection); still one-sided: {one_sided}"
    )
    section.say("\npaired against the shop as configured (median of per-repetition ratios):")
    section.say(
        harness.table(
            ["server", *(SHORT_LABELS[t] for t in chosen[0].targets)],
            [
                [v.label, *(paired[v.key].get(t, float("nan")) for t in chosen[0].targets)]
                for v in chosen[1:]
                if v.key in paired
            ],
        )
    )

    ceiling_same_handler = ceiling_report(
        section,
        chosen,
        "bare_app_shop_handler",
        "against the bare app behind the shop's own handler (config/asgi_handler.py): "
        "what the middleware and the views cost, the handler being the same",
    )

    shop = ceiling.get("configured", {})
    for target, target_ratio in (
        ("catalog", CATALOG_TARGET_RATIO),
        ("catalog_signed", SIGNED_IN_TARGET_RATIO),
    ):
        if target not in shop:
            continue
        reached = shop[target]["rps"]
        verdict = "meets" if reached >= target_ratio else "is BELOW"
        section.say(
            f"{TARGET_LABELS[target]}: {reached:.2f}x the bare app, which {verdict} the "
            f"{target_ratio}x target (CPU per request: x{shop[target]['cpu']:.2f})"
        )
    section.say("  where the time goes: python -m bench.profile, python -m bench.middleware_cost")

    decisions = {}
    for key, (question, configured, alternative) in DECISIONS.items():
        if key not in paired:
            continue
        outcome = compare(paired[key])
        keep = alternative if outcome == "faster" else configured
        decisions[question] = {"keep": keep, "variant": outcome, "paired": paired[key]}
        figures_text = ", ".join(f"{SHORT_LABELS[t]} x{r:.2f}" for t, r in paired[key].items())
        section.say(
            f"{question}: {alternative} against the shop as configured: {figures_text} "
            f"({outcome}) -> keep {keep}"
        )
    if "uvicorn_cli" in figures:
        cli = figures["uvicorn_cli"]["bare"]["p50_ms"]
        section.say(
            f"  bare view p50 under plain uvicorn {cli:.1f} ms, through config.serve "
            f"{figures['configured']['bare']['p50_ms']:.1f} ms"
        )
    return {
        "options": options.__dict__,
        "probe": found.__dict__,
        "figures": figures,
        "paired": paired,
        "against_bare_app": ceiling,
        "against_bare_app_shop_handler": ceiling_same_handler,
        "decisions": decisions,
        "runs": {
            v.key: {t: [r.__dict__ for r in rs] for t, rs in v.results.items()} for v in chosen
        },
        "lines": section.lines,
    }


def main(argv: list[str] | None = None) -> int:
    return harness.bench_command(
        "catalog", __doc__, run, argv, lambda result: 3 if result.get("skipped") else 0
    )


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
