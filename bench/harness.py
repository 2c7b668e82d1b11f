"""What every benchmark needs: the environment, a fresh database, servers that are
always stopped, HTTP clients, wrk, and small statistics.

All traffic goes to 127.0.0.1. Every process started here is started in its own
process group and stopped by `Processes` (a context manager) however the benchmark
ends, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
RESULTS_DIR = BENCH_DIR / "results"  # git-ignored (.gitignore at the top)
LOG_DIR = RESULTS_DIR / "logs"
HOST = "127.0.0.1"  # the only address any benchmark talks to

PG_HOST, PG_PORT, PG_USER = HOST, 5432, "postgres"
DB_NAME = os.environ.get("BENCH_DATABASE", "storefront_bench")
# BENCH_SHOP_REDIS_URL: the shop under test gets it as REDIS_URL, as docker-compose gives
# it Redis (shared cache, sessions read from Redis); emptied with the database.
SHOP_REDIS_URL = os.environ.get("BENCH_SHOP_REDIS_URL", "")
DATABASE_URL = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{DB_NAME}"

STRIPE_SECRET_KEY = "sk_test_bench"  # noqa: S105  (the local emulator's test key)
STRIPE_WEBHOOK_SECRET = "whsec_bench"  # noqa: S105

# The shop runs with its production settings, behind an imagined TLS proxy: every
# request says it came over HTTPS (uvicorn --proxy-headers trusts 127.0.0.1).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}

PSYCOPG3_DISTRIBUTIONS = ("psycopg", "psycopg-binary", "psycopg-pool")


@dataclass(frozen=True)
class ComparisonVenv:
    """A virtualenv for a comparison variant that .venv cannot run, made on first use
    from the lock files (`comparison_python`) and git-ignored (bench/.gitignore)."""

    name: str
    packages: tuple[str, ...]  # installed on top, exact versions
    from_lock: bool  # True: its own copy of requirements-dev.lock (less `excluded`)
    excluded: tuple[str, ...] = ()  # distributions left out of the lock
    must_not_import: str = ""  # a module that must not be importable there

    @property
    def path(self) -> Path:
        return BENCH_DIR / f".venv-{self.name}"


# psycopg2 gets a venv of its own, without psycopg 3: Django picks psycopg 3 whenever
# it is importable. The extras venv is layered on .venv (a .pth file) and adds what the
# shop does not install: servestatic, measured against WhiteNoise, and pyinstrument
# for bench.profile.
PSYCOPG2_VENV = ComparisonVenv(
    "psycopg2",
    packages=("psycopg2-binary==2.9.13",),
    from_lock=True,
    excluded=PSYCOPG3_DISTRIBUTIONS,
    must_not_import="psycopg",
)
EXTRAS_VENV = ComparisonVenv(
    "extras", packages=("servestatic==4.4.0", "pyinstrument==5.1.3"), from_lock=False
)

WRK_MISSING = (
    "wrk is not installed; the catalog benchmark needs it (a C load generator, much "
    "lighter than the server it measures).\n"
    "  Debian/Ubuntu: sudo apt-get install wrk      macOS: brew install wrk\n"
    "then run `make bench` again."
)
CHROMIUM_MISSING = (
    "Chromium not found; the polling benchmark measures a real page with it.\n"
    "  Debian/Ubuntu: sudo apt-get install chromium   (or set CHROMIUM_PATH)"
)

# --------------------------------------------------------------------------- options


@dataclass
class Options:
    duration: float = 4.0  # seconds per wrk measurement
    reps: int = 3  # repetitions; medians are reported
    connections: int = 8  # wrk connections
    poll_seconds: float = 30.0  # how long the polling benchmark keeps a page open
    quick: bool = False


def options_parse(argv: Sequence[str] | None = None, *, description: str = "") -> Options:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measurement")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians reported)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--poll-seconds", type=float, default=30.0, help="polling: page open")
    parser.add_argument("--quick", action="store_true", help="1 s measurements, 1 repetition")
    args = parser.parse_args(argv)
    options = Options(
        duration=args.duration,
        reps=args.reps,
        connections=args.connections,
        poll_seconds=args.poll_seconds,
        quick=args.quick,
    )
    if options.quick:
        options.duration, options.reps, options.poll_seconds = 1.0, 1, 10.0
    if options.duration <= 0 or options.reps < 1 or options.connections < 1:
        parser.error("duration, reps and connections must be positive")
    return options


# ---------------------------------------------------------------------- environment


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of the shop under test: production settings (DEBUG off),
    bench.settings, the bench database, the emulator's keys."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "STRIPE_", "BENCH_", "DATABASE_", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-only-" + hashlib.sha256(b"storefront bench").hexdigest(),
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_MEDIA_ROOT=str(BENCH_DIR / ".media"),
        DATABASE_URL=DATABASE_URL,
        STRIPE_SECRET_KEY=STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        # The benchmarks run production settings against the Stripe emulator, which
        # config/settings.py refuses unless told that it is meant.
        STRIPE_ALLOW_NON_STRIPE_API_BASE="1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(BASE_DIR),
    )
    if SHOP_REDIS_URL:  # the shop as compose runs it: cache and sessions in Redis
        env["REDIS_URL"] = SHOP_REDIS_URL
    env.update(extra)
    return env


_django_ready = False


def django_setup(**extra: str) -> None:
    """Set up Django in this process (the driver) with the bench settings. The driver
    connects without a pool: it drops the database the servers' pools would hold."""
    global _django_ready
    if _django_ready:
        return
    os.environ.update(bench_env(**{"BENCH_DB_POOL": "0", **extra}))
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    _django_ready = True


def _admin_connection():
    """Autocommit connection to the `postgres` maintenance database (psycopg 3)."""
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname="postgres",
        autocommit=True,
        connect_timeout=3,
    )


def database_reset() -> None:
    """Drop and recreate the bench database, then migrate it."""
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    call_command("migrate", verbosity=0, interactive=False)
    if SHOP_REDIS_URL:
        import redis

        redis.Redis.from_url(SHOP_REDIS_URL).flushdb()


def postgres_available() -> str | None:
    """None when PostgreSQL answers; otherwise why not."""
    import psycopg

    try:
        _admin_connection().close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} (user {PG_USER}) is not reachable: {exc}"
    return None


def postgres_version() -> str:
    with _admin_connection() as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


def collectstatic(static_server: str, python: str | None = None, root: Path = BASE_DIR) -> None:
    """Hashed, compressed static files for one static server, in bench/.static/<server>
    (of `root`, another checkout of the shop: BENCH_BASELINE)."""
    env = bench_env(BENCH_STATIC_SERVER=static_server)
    if root != BASE_DIR:
        env["PYTHONPATH"] = str(root)
    subprocess.run(
        [python or sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=root,
        env=env,
        check=True,
    )


def baseline_root() -> Path | None:
    """BENCH_BASELINE: another checkout of the shop (the tree before a change), which
    the benchmarks that support it run beside the shop, on the same database. None
    when unset."""
    raw = os.environ.get("BENCH_BASELINE")
    if not raw:
        return None
    root = Path(raw).resolve()
    if not (root / "config" / "settings.py").is_file() or not (root / "bench").is_dir():
        raise RuntimeError(f"BENCH_BASELINE={raw}: not a checkout of the shop")
    return root


def lock_requirements(lock: Path, *, excluded: Iterable[str] = ()) -> list[str]:
    """The pinned lines of a lock file, `-r` includes followed, less the `excluded`
    distributions (names compared as pip does: case and -_. folded)."""
    drop = {_distribution(name) for name in excluded}
    lines: list[str] = []
    for raw in lock.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            included = lock.parent / line.split(maxsplit=1)[1]
            lines += lock_requirements(included, excluded=excluded)
        elif _distribution(re.split(r"[\[=<>!~; ]", line, maxsplit=1)[0]) not in drop:
            lines.append(line)
    return lines


def _distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def comparison_python(venv: ComparisonVenv) -> str:
    """The interpreter of a comparison venv, made (or remade, when a lock file or the
    package list changed) first: quietly, about a minute the first time."""
    if venv.from_lock:
        requirements = lock_requirements(BASE_DIR / "requirements-dev.lock", excluded=venv.excluded)
    else:
        requirements = []
    layered_on = "" if venv.from_lock else sysconfig.get_path("purelib")
    wanted = hashlib.sha256(
        "\n".join([sys.version, layered_on, *requirements, *venv.packages]).encode()
    ).hexdigest()
    python = venv.path / "bin" / "python"
    stamp = venv.path / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    print(f"  preparing {venv.path.relative_to(BASE_DIR)} (once, about a minute) ...", flush=True)
    shutil.rmtree(venv.path, ignore_errors=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    _quietly([base, "-m", "venv", str(venv.path)], "making the venv")
    if layered_on:
        # .venv's packages after the venv's own: the shop as installed, plus these.
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(site, "_storefront_venv.pth").write_text(layered_on + "\n")
    requirements_file = venv.path / "requirements.txt"
    requirements_file.write_text("\n".join([*requirements, *venv.packages]) + "\n")
    _quietly(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
            str(requirements_file),
        ],
        f"installing {requirements_file.relative_to(BASE_DIR)}",
    )
    if venv.must_not_import:
        found = subprocess.run(
            [str(python), "-c", f"import {venv.must_not_import}"], capture_output=True, check=False
        )
        if found.returncode == 0:
            raise RuntimeError(f"{venv.path}: {venv.must_not_import} must not be importable")
    stamp.write_text(wanted)
    return str(python)


def _quietly(argv: list[str], what: str) -> None:
    """Run a set-up command, its output shown only if it fails."""
    done = subprocess.run(argv, cwd=BASE_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{tail}")


# ------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class BenchProcess:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = BASE_DIR):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log_path = LOG_DIR / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        # Its own session: Ctrl-C reaches the driver only, which stops it in order.
        self.popen = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def group_pids(self) -> list[int]:
        """Every live process of its process group (uvicorn's workers included)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # pid (comm) state ppid pgrp ...: comm may hold spaces, split after it
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.popen.pid:
                    pids.append(int(stat.parent.name))
        return pids

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the process group (uvicorn's workers too), SIGKILL after 10 s."""
        if self.popen is None or self.popen.poll() is not None:
            return
        pgid = self.popen.pid  # start_new_session: the group id is the child's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        # uvicorn's workers leave with their parent; make sure no straggler stays.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)

    def wait_ready(self, url: str, timeout: float = 30.0, headers: dict | None = None) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                status, _, _ = http_get(url, headers=headers, timeout=2)
                if status == 200:
                    return
                last = f"status {status}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} not ready after {timeout:.0f} s ({last}):\n{self.log_tail()}"
        )


class Server(BenchProcess):
    """The shop under uvicorn with 2 workers, as the Dockerfile and docker-compose run it:
    through config/serve.py, uvicorn's command line with TCP_NODELAY on the workers'
    connections (uvicorn issue #3149). `nodelay=False` runs `uvicorn` itself instead.

    Once it answers, its /bench/stack/ must match `expect` (driver, pool, static files
    middleware): a variant measures what its label says or the benchmark stops.

    `app` is another ASGI application (bench.bare_app, which has no /bench/stack/);
    `root` another checkout of the shop (BENCH_BASELINE: the shop before a change,
    run with the same interpreter and the same database); `serve_args` more options
    for config.serve (`--no-reuse-port`).
    """

    def __init__(
        self,
        name: str,
        *,
        python: str | None = None,
        workers: int = 2,
        env: dict[str, str] | None = None,
        label: str = "",
        nodelay: bool = True,
        expect: dict[str, Any] | None = None,
        app: str = "config.asgi:application",
        root: Path = BASE_DIR,
        port: int | None = None,
        serve_args: Sequence[str] = (),
    ):
        self.port = port or free_port()
        self.label = label or name
        self.workers = workers
        self.base_url = f"http://{HOST}:{self.port}"
        self.expect = expect or {}
        self.stack: dict[str, Any] = {}
        self.app = app
        argv = [
            python or sys.executable,
            "-m",
            "config.serve" if nodelay else "uvicorn",
            app,
            *(serve_args if nodelay else ()),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--proxy-headers",
            # The access log would cost the same for every view; it is left out so
            # that the figures are the shop's. Warnings and errors still go to the log.
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        environment = bench_env(**(env or {}))
        if root != BASE_DIR:
            environment["PYTHONPATH"] = str(root)
        super().__init__(name, argv, environment, cwd=root)

    @property
    def auth_backend(self) -> str:
        """The authentication backend this server's signed-in sessions must name."""
        return self.stack.get("auth_backend", LEGACY_AUTH_BACKEND)

    def start(self) -> None:
        super().start()
        self.wait_ready(self.base_url + "/bench/bare/", headers=PROXY_HEADERS)
        if self.app != "config.asgi:application":
            return  # not the shop: no /bench/stack/
        status, _, body = http_get(self.base_url + "/bench/stack/", headers=PROXY_HEADERS)
        if status != 200:
            raise RuntimeError(f"{self.name}: /bench/stack/ answered {status}")
        self.stack = json.loads(body)
        wrong = stack_mismatches(self.stack, self.expect)
        if wrong:
            raise RuntimeError(f"{self.name} runs {wrong}, expected {self.expect}")


# What a server whose /bench/stack/ does not say uses (the shop before checkout.auth).
LEGACY_AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def stack_mismatches(stack: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    """What a server's /bench/stack/ says where it differs from `expect`. An expected
    True stands for anything set (the pool's options, as config/settings.py has them)."""
    return {
        key: stack.get(key)
        for key, wanted in expect.items()
        if (not stack.get(key) if wanted is True else stack.get(key) != wanted)
    }


class Emulator(BenchProcess):
    """The Stripe emulator; events are recorded, not delivered (the benchmark
    delivers them itself)."""

    def __init__(self, name: str = "stripe-emulator"):
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        argv = [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--webhook-secret",
            STRIPE_WEBHOOK_SECRET,
        ]
        super().__init__(name, argv, bench_env())

    def start(self) -> None:
        super().start()
        self.wait_ready(self.base_url + "/_emulator/clock")


class Processes(contextlib.AbstractContextManager):
    """Starts processes and stops them all on the way out, in reverse order.

    SIGTERM is turned into KeyboardInterrupt for the duration, so that `finally`
    blocks run when the benchmark is killed as well as on Ctrl-C.
    """

    def __init__(self) -> None:
        self.started: list[BenchProcess] = []
        self._previous = None

    def __enter__(self) -> Processes:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def start(self, process: BenchProcess) -> BenchProcess:
        self.started.append(process)
        process.start()
        return process

    def __exit__(self, *exc_info) -> None:
        for process in reversed(self.started):
            try:
                process.stop()
            except Exception as exc:  # keep stopping the others
                print(f"  could not stop {process.name}: {exc}", file=sys.stderr)
        self.started.clear()
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def bench_command(name: str, doc: str, run, argv: list[str] | None, exit_code) -> int:
    """One benchmark's command line: parse the options, check PostgreSQL, run, write
    bench/results/<name>.json; `exit_code(result)` says how it ended."""
    options = options_parse(argv, description=doc.splitlines()[0])
    problem = postgres_available()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    result = run(options)
    results_write(name, result)
    return exit_code(result)


def run_main(main) -> int:
    """A benchmark's command line: Ctrl-C ends it quietly (its servers are stopped)."""
    try:
        return main()
    except KeyboardInterrupt:
        print("\ninterrupted; every process the benchmark started was stopped", file=sys.stderr)
        return 130


# ----------------------------------------------------------------------------- HTTP


def _split(url: str) -> tuple[str, int, str]:
    match = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)?", url)
    if not match or match.group(1) not in (HOST, "localhost"):
        raise ValueError(f"benchmarks talk to {HOST} only, not {url!r}")
    return match.group(1), int(match.group(2)), match.group(3) or "/"


def http_get(url: str, *, headers: dict | None = None, timeout: float = 10):
    """One GET on a fresh connection: (status, headers, body)."""
    status, response_headers, body, _ = http_request("GET", url, headers=headers, timeout=timeout)
    return status, response_headers, body


def http_request(
    method: str,
    url: str,
    *,
    body: bytes | str | None = None,
    headers: dict | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes, float]:
    host, port, path = _split(url)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        start = time.perf_counter()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, _headers(response), data, time.perf_counter() - start
    finally:
        connection.close()


def _headers(response: http.client.HTTPResponse) -> dict[str, str]:
    """Response headers by lower-case name."""
    return {name.lower(): value for name, value in response.getheaders()}


class KeepAlive:
    """One persistent HTTP/1.1 connection (per thread), reopened if the server closed it.
    `source`: the loopback address to connect from (127.0.0.0/8 is all this host's), so
    that a proxy sees many clients (bench.multihost)."""

    def __init__(self, base_url: str, timeout: float = 60, source: str | None = None):
        self.host, self.port, _ = _split(base_url)
        self.timeout = timeout
        self.source = source
        self.connection: http.client.HTTPConnection | None = None

    def connect(self) -> None:
        self.connection = http.client.HTTPConnection(
            self.host,
            self.port,
            timeout=self.timeout,
            source_address=(self.source, 0) if self.source else None,
        )
        self.connection.connect()

    def request(
        self, method: str, path: str, *, body: bytes | str | None = None, headers: dict
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            if self.connection is None:
                self.connect()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status, _headers(response), data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Timed:
    status: int
    seconds: float
    location: str = ""
    error: str = ""


def run_concurrently(
    base_url: str,
    jobs: Sequence[tuple[str, str, bytes | str | None, dict]],
    *,
    sources: Sequence[str] | None = None,
) -> tuple[list[Timed], float]:
    """Every job (method, path, body, headers) at once, one connection each, released
    together by a barrier after all connections are open. Returns the timings (in
    job order) and the wall time from release to the last answer. `sources`: the
    address each job connects from (KeepAlive)."""
    results: list[Timed | None] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs) + 1)
    finished: list[float] = []

    def work(index: int) -> None:
        method, path, body, headers = jobs[index]
        client = KeepAlive(base_url, source=sources[index] if sources else None)
        try:
            client.connect()
        except OSError as exc:
            results[index] = Timed(0, 0.0, error=f"connect: {exc}")
            barrier.wait()
            return
        barrier.wait()
        start = time.perf_counter()
        try:
            status, response_headers, _ = client.request(method, path, body=body, headers=headers)
            results[index] = Timed(
                status, time.perf_counter() - start, response_headers.get("location", "")
            )
        except OSError as exc:
            results[index] = Timed(0, time.perf_counter() - start, error=str(exc))
        finally:
            finished.append(time.perf_counter())
            client.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    barrier.wait()
    released = time.perf_counter()
    for thread in threads:
        thread.join(timeout=120)
    wall = (max(finished) if finished else released) - released
    return [r or Timed(0, 0.0, error="no answer") for r in results], wall


def run_over_connections(
    base_url: str,
    jobs: Sequence[tuple[str, str, Any, dict]],
    *,
    connections: int,
    prepare=None,
    sources: Sequence[str] | None = None,
) -> tuple[list[Timed], float]:
    """The jobs in order over `connections` keep-alive connections (a shared queue).
    `prepare(job) -> (body, headers)` runs just before each send (to sign it then);
    connection i connects from sources[i % len(sources)] (KeepAlive)."""
    results: list[Timed | None] = [None] * len(jobs)
    lock = threading.Lock()
    cursor = iter(range(len(jobs)))

    def work(number: int) -> None:
        source = sources[number % len(sources)] if sources else None
        client = KeepAlive(base_url, source=source)
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                method, path, body, headers = jobs[index]
                if prepare is not None:
                    body, headers = prepare(jobs[index])
                start = time.perf_counter()
                try:
                    status, response_headers, _ = client.request(
                        method, path, body=body, headers=headers
                    )
                    results[index] = Timed(
                        status, time.perf_counter() - start, response_headers.get("location", "")
                    )
                except OSError as exc:
                    client.close()
                    results[index] = Timed(0, time.perf_counter() - start, error=str(exc))
        finally:
            client.close()

    threads = [
        threading.Thread(target=work, args=(number,), daemon=True) for number in range(connections)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - start
    return [r or Timed(0, 0.0, error="no answer") for r in results], wall


# ------------------------------------------------------------------------------ wrk


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors plus answers that were neither 2xx nor 3xx
    seconds: float
    # wrk's connections held by each of the server's workers, seen halfway through, and
    # how many runs it took to get them onto every worker (see `wrk`)
    spread: list[int] = field(default_factory=list)
    attempts: int = 1
    # CPU milliseconds the server's processes spent per request (user + system, from
    # /proc): unlike requests/s, it hardly moves when other work shares the machine.
    cpu_ms: float = float("nan")

    @classmethod
    def parse(cls, text: str) -> WrkResult:
        def number(pattern: str, default: float | None = None) -> float:
            match = re.search(pattern, text)
            if match is None:
                if default is None:
                    raise ValueError(f"wrk output without {pattern!r}:\n{text}")
                return default
            return float(match.group(1))

        def latency(percent: int) -> float:
            match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
            if match is None:
                raise ValueError(f"wrk output without the {percent}% latency:\n{text}")
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
            return float(match.group(1)) * scale

        socket_errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
        )
        errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
        errors += int(number(r"Non-2xx or 3xx responses: (\d+)", 0))
        return cls(
            rps=number(r"Requests/sec:\s+([\d.]+)"),
            p50_ms=latency(50),
            p99_ms=latency(99),
            requests=int(number(r"(\d+) requests in")),
            errors=errors,
            seconds=number(r"requests in ([\d.]+)s"),
        )


def wrk_path() -> str | None:
    return shutil.which("wrk")


WRK_ATTEMPTS = 5  # runs of one measurement until every worker holds some connections


def wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    headers: dict | None = None,
    server: Server | None = None,
    held_per_worker: int = 0,
) -> WrkResult:
    """One wrk measurement, bounded in time: two threads, `connections` keep-alive
    connections opened at the start.

    With uvicorn's one shared listening socket the first worker to wake accepts every
    connection waiting (asyncio accepts in a loop): with wrk's connections all arriving
    at once, one worker often got all of them and the other idled, which halves
    throughput on this 2-CPU machine. config.serve now gives each worker a socket of its
    own (SO_REUSEPORT); plain uvicorn and older checkouts do not. With `server`, the
    connections are counted per worker half a second in, and a run that left a worker
    without any is stopped and started again (WRK_ATTEMPTS at most; the result says how
    it went), so that the figures compared with each other were all served by both
    workers; the server's CPU time per request is recorded too (`cpu_ms`).
    `held_per_worker`: connections each worker already holds that are not wrk's (the
    Stripe stall benchmark's waiting checkouts), left out of that count.
    """
    _split(url)  # loopback only
    argv = [
        wrk_path() or "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    for name, value in {**PROXY_HEADERS, **(headers or {})}.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    for attempt in range(1, WRK_ATTEMPTS + 1):
        if attempt > 1:
            time.sleep(0.3)  # the server finishes the requests of the run stopped
        cpu_before = process_cpu_seconds(server.group_pids()) if server is not None else 0.0
        run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        spread: list[int] = []
        try:
            if server is not None:
                time.sleep(0.5)  # wrk opens its connections first thing
                spread = [count - held_per_worker for count in worker_connections(server)]
                if not every_worker_used(spread, server.workers) and attempt < WRK_ATTEMPTS:
                    continue  # stopped in `finally`, started again
            stdout, stderr = run.communicate(timeout=duration + 30)
        finally:
            if run.poll() is None:
                run.kill()
                run.communicate()
        if run.returncode != 0:
            raise RuntimeError(f"wrk failed ({run.returncode}): {stderr or stdout}")
        result = WrkResult.parse(stdout)
        result.spread, result.attempts = spread, attempt
        if server is not None and result.requests:
            spent = process_cpu_seconds(server.group_pids()) - cpu_before
            result.cpu_ms = spent * 1000 / result.requests
        return result
    raise AssertionError("unreachable")


def database_pids() -> list[int]:
    """PostgreSQL's backends serving the bench database (their process titles name it):
    the shop's pooled connections among them. From /proc (Linux)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            title = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {DB_NAME} " in title:
                pids.append(int(cmdline.parent.name))
    return pids


def process_cpu_seconds(pids: Iterable[int]) -> float:
    """User plus system CPU seconds spent so far by these processes (/proc, Linux)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            # pid (comm) state ... utime stime: fields 14 and 15, 12 and 13 after comm
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def every_worker_used(spread: list[int], workers: int) -> bool:
    """Whether each of `workers` worker processes held at least one connection."""
    return len(spread) >= workers and min(spread) > 0


def worker_connections(server: Server) -> list[int]:
    """Established TCP connections to the server's port, counted per worker process:
    the processes of its group, but the one that started them, that hold the listening
    socket (so not multiprocessing's resource tracker). From /proc (Linux)."""
    port = f"{server.port:04X}"
    listening: set[str] = set()
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(":" + port):
                    state = {"0A": listening, "01": established}.get(fields[3])
                    if state is not None:
                        state.add(fields[9])  # the socket's inode
    counts = []
    for pid in server.group_pids():
        if pid == server.popen.pid:
            continue  # uvicorn's supervisor: it listens, the workers serve
        sockets = set()
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        sockets.add(target[8:-1])
        if sockets & listening:
            counts.append(len(sockets & established))
    return sorted(counts)


# ---------------------------------------------------------------------- statistics


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def ratio(value: float, reference: float) -> float:
    return value / reference if reference else float("nan")


# ------------------------------------------------------------------------- webhooks


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# ---------------------------------------------------------------------------- buyers


@dataclass(frozen=True)
class Buyer:
    user_id: int
    session_key: str
    csrf_secret: str

    def headers(self, base_url: str) -> dict[str, str]:
        """Signed in by session cookie, with a CSRF cookie and header pair; the Origin
        is what a browser sends over HTTPS to this host."""
        origin = base_url.replace("http://", "https://", 1)
        return {
            **PROXY_HEADERS,
            "Cookie": f"sessionid={self.session_key}; csrftoken={self.csrf_secret}",
            "X-CSRFToken": self.csrf_secret,
            "Origin": origin,
            "Content-Type": "application/x-www-form-urlencoded",
        }


def buyers_create(
    *, count: int, prefix: str, carts: Sequence[dict[int, int]], backend: str = ""
) -> list[Buyer]:
    """`count` users signed in by server-side sessions (no password hashing, no login
    request), buyer i with a cart holding carts[i % len(carts)] ({product id: quantity}).
    `backend`: the authentication backend the sessions name (a server's `auth_backend`:
    a BENCH_BASELINE tree may list other backends than this one); by default this
    tree's first.

    The sessions are saved by the shop's own session engine, as signing in saves them:
    with Redis (BENCH_SHOP_REDIS_URL) in the database and in Redis, where a shopper who
    signed in and browsed has theirs when they press "Check out"."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

    from accounts.models import User
    from checkout.models import Cart, CartItem

    unusable = make_password(None)
    users = User.objects.bulk_create(
        User(email=f"{prefix}-{i}@bench.invalid", password=unusable) for i in range(count)
    )
    carts_made = Cart.objects.bulk_create(Cart(user=user) for user in users)
    CartItem.objects.bulk_create(
        CartItem(cart=cart_row, product_id=product_id, quantity=quantity)
        for i, cart_row in enumerate(carts_made)
        for product_id, quantity in carts[i % len(carts)].items()
    )
    backend = backend or settings.AUTHENTICATION_BACKENDS[0]
    buyers = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        buyers.append(Buyer(user.pk, session.session_key, secrets.token_hex(16)))
    return buyers


# --------------------------------------------------------------------------- reports


def machine_info() -> dict[str, str]:
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    postgres = ""
    with contextlib.suppress(Exception):
        postgres = postgres_version()
    wrk_version = ""
    if wrk_path():
        done = subprocess.run(
            [wrk_path(), "--version"], capture_output=True, text=True, check=False
        )
        wrk_version = (done.stdout or done.stderr).split(" Copyright")[0].strip()
    return {
        "cpus": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": postgres,
        "wrk": wrk_version,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def results_write(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain text table, right-aligned numbers."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    for row in cells:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


@dataclass
class Section:
    """A heading and lines, printed as they come and kept for the summary."""

    title: str
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        print(f"\n== {self.title}", flush=True)

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


@contextlib.contextmanager
def step(text: str) -> Iterator[None]:
    """Prints what is being done and how long it took."""
    print(f"  {text} ...", end="", flush=True)
    start = time.perf_counter()
    try:
        yield
    except BaseException:
        print(" failed", flush=True)
        raise
    print(f" {time.perf_counter() - start:.1f} s", flush=True)
