"""`make mutate`: mutation testing of the modules that keep the books, with cosmic-ray.

Reads `[tool.cosmic-ray]` (cosmic-ray's own settings) and `[tool.mutate]` (what to
mutate and which tests judge it) from pyproject.toml, then for each target:

1. copies the work tree to a scratch directory (cosmic-ray rewrites the module it
   mutates on disk, so it never runs in the tree people are editing);
2. `cosmic-ray init`, then skips the mutants outside the target's functions, the
   operators excluded in the config, and operators applied to a `def` line's
   annotations (`X | None` -> `X & None` only breaks the import);
3. runs the target's tests once unmutated (they must pass; their time sets the
   timeout), then `cosmic-ray exec`: each mutant runs the tests with `-x`;
4. prints the score and every surviving mutant as a diff.

Usage:  python scripts/mutate.py [--target NAME ...] [--workdir DIR] [--keep-tree]
                                 [--retest-survivors [--only-tests PATH ...]]
                                 [--report-only]

`--retest-survivors` keeps the sessions of the last run (and its scratch tree), copies
the current tests over, and runs again only the mutants that survived: after adding
tests, this is the cheap way to see which survivors they kill.

With DATABASE_URL naming PostgreSQL the tests run there (PostgreSQL-only tests
included) under a test database of their own (suffixed with the workdir's name), reused between
mutants; otherwise on SQLite. Exit status 0 whatever survives: this is a report.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache",
    ".ruff_cache", "var", "staticfiles", "mutants",
)  # fmt: skip


@dataclass
class Target:
    name: str
    module: str
    tests: list[str]
    functions: list[str]


def load_config() -> tuple[dict, list[Target]]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        tool = tomllib.load(handle)["tool"]
    targets = [
        Target(
            name=t["name"],
            module=t["module"],
            tests=list(t["tests"]),
            functions=list(t.get("functions", [])),
        )
        for t in tool["mutate"]["targets"]
    ]
    return tool["cosmic-ray"], targets


def toml_dump(config: dict) -> str:
    """cosmic-ray's config file: a `[cosmic-ray]` table (tomllib cannot write)."""

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(item) for item in v) + "]"
        raise TypeError(v)

    lines: list[str] = []

    def table(name: str, body: dict) -> None:
        lines.append(f"[{name}]")
        for key, v in body.items():
            if not isinstance(v, dict):
                lines.append(f'"{key}" = {value(v)}')
        for key, v in body.items():
            if isinstance(v, dict):
                table(f'{name}."{key}"', v)

    table('"cosmic-ray"', config)
    return "\n".join(lines) + "\n"


# --- scope --------------------------------------------------------------------------


def line_scope(source: str, functions: list[str]) -> tuple[set[int], set[int]]:
    """(lines inside the named definitions, lines of `def` signatures).

    A name is a function or class at any depth (`with_availability`, `CartSummary`,
    `StockReservationQuerySet.active`). No names: the whole module.
    """
    tree = ast.parse(source)
    inside: set[int] = set()
    signatures: set[int] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = f"{prefix}{child.name}"
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                if not functions or child.name in functions or qualname in functions:
                    inside.update(range(first, (child.end_lineno or child.lineno) + 1))
                if not isinstance(child, ast.ClassDef) and child.body:
                    signatures.update(range(child.lineno, child.body[0].lineno))
                visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    if not functions:
        inside = set(range(1, len(source.splitlines()) + 1))
    return inside, signatures


SIGNATURE_SAFE = re.compile(
    r"core/(NumberReplacer|ReplaceTrueWithFalse|ReplaceFalseWithTrue|RemoveDecorator)"
)


def apply_filters(session: Path, module_file: Path, target: Target, exclude: list[str]) -> int:
    """Mark out-of-scope mutants as skipped; returns how many remain."""
    inside, signatures = line_scope(module_file.read_text(), target.functions)
    excluded = [re.compile(pattern) for pattern in exclude]
    db = sqlite3.connect(session)
    rows = db.execute("SELECT job_id, operator_name, start_pos_row FROM mutation_specs").fetchall()
    skip = []
    for job_id, operator, row in rows:
        out_of_scope = row not in inside or any(p.search(operator) for p in excluded)
        in_annotation = row in signatures and not SIGNATURE_SAFE.match(operator)
        if out_of_scope or in_annotation:
            skip.append(job_id)
    db.executemany(
        "INSERT OR REPLACE INTO work_results (worker_outcome, output, test_outcome, diff, job_id)"
        " VALUES ('SKIPPED', 'out of scope', NULL, NULL, ?)",
        [(job_id,) for job_id in skip],
    )
    db.commit()
    db.close()
    return len(rows) - len(skip)


# --- running ------------------------------------------------------------------------


def test_command(tests: list[str], postgres: bool) -> str:
    args = [PYTHON, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    if postgres:
        args.append("--reuse-db")
    return shlex.join(args + tests)


def run(args: list[str], cwd: Path, env: dict, log: Path) -> int:
    """Run one of our own commands (pytest, cosmic-ray), its output appended to `log`."""
    with open(log, "ab") as out:
        return subprocess.call(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def copy_tree(tree: Path, fresh: bool) -> None:
    if fresh and tree.exists():
        shutil.rmtree(tree)
    if fresh:
        shutil.copytree(ROOT, tree, ignore=COPY_IGNORE, symlinks=True)
        (tree / "var").mkdir(exist_ok=True)
    else:  # tests only: the code under test stays the snapshot the sessions were made on
        shutil.rmtree(tree / "tests")
        shutil.copytree(ROOT / "tests", tree / "tests", ignore=COPY_IGNORE)


def results(session: Path) -> dict[str, int]:
    db = sqlite3.connect(session)
    counts: dict[str, int] = {}
    for outcome, test_outcome, n in db.execute(
        "SELECT r.worker_outcome, r.test_outcome, count(*) FROM mutation_specs m "
        "LEFT JOIN work_results r ON r.job_id = m.job_id GROUP BY 1, 2"
    ):
        key = (
            "pending"
            if outcome is None
            else "skipped"
            if outcome == "SKIPPED"
            else (test_outcome or outcome).lower()
        )
        counts[key] = counts.get(key, 0) + n
    db.close()
    return counts


def survivors(session: Path) -> list[tuple[str, str, int, str, str]]:
    db = sqlite3.connect(session)
    rows = db.execute(
        "SELECT m.job_id, m.operator_name, m.start_pos_row, m.definition_name, r.diff "
        "FROM mutation_specs m JOIN work_results r ON r.job_id = m.job_id "
        "WHERE r.test_outcome = 'SURVIVED' ORDER BY m.start_pos_row, m.operator_name"
    ).fetchall()
    db.close()
    return rows


def reset_survivors(session: Path) -> int:
    db = sqlite3.connect(session)
    cursor = db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    db.commit()
    db.close()
    return cursor.rowcount


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", help="run only these targets")
    parser.add_argument("--workdir", default=str(ROOT / "var" / "mutate"))
    parser.add_argument("--retest-survivors", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--keep-tree", action="store_true", help="use the scratch tree as it is (no copy)"
    )
    parser.add_argument(
        "--only-tests",
        nargs="+",
        metavar="PATH",
        help="of each target's tests, run only these (with --retest-survivors: the tests "
        "added since, as the survivors already passed the others)",
    )
    options = parser.parse_args()

    cr_config, targets = load_config()
    if options.target:
        targets = [t for t in targets if t.name in options.target]
    workdir = Path(options.workdir).resolve()
    tree = workdir / "tree"
    postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    # pytest-django adds this suffix to the test database's name: a run of its own, which
    # neither `make test` nor another workdir's run drops from under it.
    suffix = re.sub(r"\W", "_", workdir.name)
    env = dict(os.environ, TOX_PARALLEL_ENV=suffix, PYTHONDONTWRITEBYTECODE="1")
    operators_filter = cr_config.get("filters", {}).get("operators-filter", {})
    exclude = list(operators_filter.get("exclude-operators", []))

    if not options.report_only and not options.keep_tree:
        workdir.mkdir(parents=True, exist_ok=True)
        copy_tree(tree, fresh=not options.retest_survivors)
    totals = {"killed": 0, "survived": 0}
    for target in targets:
        session = workdir / f"{target.name}.sqlite"
        config_file = workdir / f"{target.name}.toml"
        log = workdir / f"{target.name}.log"
        tests = [t for t in target.tests if (tree / t.split("::")[0]).exists()]
        run_it = not options.report_only
        if options.only_tests:
            tests = [t for t in tests if t in options.only_tests]
            if not tests:
                print(f"{target.name}: none of {options.only_tests} judge it; as it was")
                run_it = False
        missing = sorted(set(target.tests) - set(tests))
        if run_it:
            command = test_command(tests, postgres)
            started = time.monotonic()
            if run(shlex.split(command), tree, env, log) != 0:
                print(f"{target.name}: the tests fail without any mutant (see {log}); skipped")
                continue
            baseline = time.monotonic() - started
            config = dict(cr_config)
            config.pop("filters", None)
            config.update(
                {
                    "module-path": target.module,
                    "test-command": command,
                    "timeout": float(max(cr_config.get("timeout", 60), round(3 * baseline))),
                }
            )
            config_file.write_text(toml_dump(config))
            if options.retest_survivors and session.exists():
                print(f"{target.name}: {reset_survivors(session)} survivors to test again")
            else:
                session.unlink(missing_ok=True)
                cosmic = [PYTHON, "-m", "cosmic_ray.cli"]
                run([*cosmic, "init", str(config_file), str(session)], tree, env, log)
                left = apply_filters(session, tree / target.module, target, exclude)
                note = f"; not there yet: {missing}" if missing else ""
                print(
                    f"{target.name}: {left} mutants of {target.module}, "
                    f"tests take {baseline:.0f}s unmutated{note}",
                    flush=True,
                )
            cosmic = [PYTHON, "-m", "cosmic_ray.cli"]
            run([*cosmic, "exec", str(config_file), str(session)], tree, env, log)
        if not session.exists():
            continue
        counts = results(session)
        killed, survived = counts.get("killed", 0), counts.get("survived", 0)
        totals["killed"] += killed
        totals["survived"] += survived
        score = 100 * killed / (killed + survived) if killed + survived else 100.0
        others = "".join(
            f", {n} {k}"
            for k, n in sorted(counts.items())
            if k not in ("killed", "survived", "skipped")
        )
        print(
            f"== {target.name} ({target.module}): {killed} killed, {survived} survived"
            f"{others}: score {score:.1f}%"
        )
        for job_id, operator, row, definition, diff in survivors(session):
            print(f"-- survived: {target.module}:{row} in {definition}: {operator} [{job_id[:8]}]")
            for line in (diff or "").splitlines():
                if line[:1] in "+-" and line[:3] not in ("---", "+++"):
                    print("     " + line)
    killed, survived = totals["killed"], totals["survived"]
    if killed + survived:
        score = 100 * killed / (killed + survived)
        print(f"== all: {killed} killed, {survived} survived: score {score:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
