"""A SQLite database named by DATABASE_URL (sqlite:///path) behaves like the default
one: IMMEDIATE transactions, WAL and a busy timeout, so that two writers at once (a
webhook and a success page fulfilling the same order) queue instead of one of them
failing with "database is locked".

Settings are read once per process, so each case loads them in a fresh interpreter
with its own environment, as the shop would start."""

import json
import os
import subprocess
import sys
import textwrap

from django.conf import settings

PRINT_DATABASE = (
    "import json; from django.conf import settings; "
    "print(json.dumps(settings.DATABASES['default'], default=str))"
)

# Two threads, released together, each read a counter and write it back plus one in a
# transaction: the check-then-write of a fulfilment. With deferred transactions both
# read, and the second to write finds its snapshot stale: "database is locked", at
# once, whatever the timeout. With IMMEDIATE the second waits for the first at BEGIN.
RACE = textwrap.dedent(
    """
    import json, threading, time
    import django
    django.setup()
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id integer PRIMARY KEY, value integer NOT NULL)")
        cursor.execute("INSERT INTO counter VALUES (1, 0)")
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
    connection.close()

    barrier = threading.Barrier(2)
    results = [None, None]

    def bump(index):
        try:
            barrier.wait()
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT value FROM counter WHERE id = 1")
                    value = cursor.fetchone()[0]
                    time.sleep(0.3)  # the other thread is in its transaction by now
                    cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
            results[index] = "ok"
        except Exception as exc:
            results[index] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        value = cursor.fetchone()[0]
    print(json.dumps({"results": results, "value": value, "journal_mode": journal_mode}))
    """
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter with the shop's settings and only `env` set."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "STRIPE_", "DATABASE_", "REDIS_URL", "BENCH_"))
    }
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", DJANGO_DEBUG="1", **env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def database_settings(**env: str) -> dict:
    result = run_python(PRINT_DATABASE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sqlite_url_gets_exactly_the_options_of_the_default_database(tmp_path):
    default = database_settings()
    from_url = database_settings(DATABASE_URL=f"sqlite:///{tmp_path}/shop.sqlite3")

    assert from_url["NAME"] == f"{tmp_path}/shop.sqlite3"
    assert from_url["OPTIONS"] == default["OPTIONS"]
    assert from_url["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert from_url["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in from_url["OPTIONS"]["init_command"]
    # Nothing else differs either (engine, connection age, health checks).
    assert {k: v for k, v in from_url.items() if k != "NAME"} == {
        k: v for k, v in default.items() if k != "NAME"
    }


def test_options_written_in_a_sqlite_url_are_kept_on_top_of_the_shops(tmp_path):
    default = database_settings()
    from_url = database_settings(DATABASE_URL=f"sqlite:///{tmp_path}/shop.sqlite3?timeout=60")

    assert from_url["OPTIONS"] == {**default["OPTIONS"], "timeout": 60}


def test_two_writers_at_once_on_a_sqlite_url_database_both_succeed(tmp_path):
    result = run_python(RACE, DATABASE_URL=f"sqlite:///{tmp_path}/race.sqlite3")

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["journal_mode"] == "wal"
    assert outcome["results"] == ["ok", "ok"], outcome  # no "database is locked"
    assert outcome["value"] == 2  # and no lost update
