"""Running code in real threads at the same moment, for tests of races (PostgreSQL, or
SQLite's IMMEDIATE transactions)."""

import threading

from django.db import connection


def run_together(target, args_list: list[tuple]) -> list:
    """Run target(*args) in one thread each, released at the same moment.

    Returns what each call returned, in the order of args_list; a call that raised
    returns its exception, for the test to assert on. Each thread closes its own
    database connection when done.
    """
    barrier = threading.Barrier(len(args_list))
    results: list = [None] * len(args_list)

    def worker(index: int, args: tuple) -> None:
        try:
            barrier.wait()
            results[index] = target(*args)
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, args)) for i, args in enumerate(args_list)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def in_a_loop_of_its_own(coroutine):
    """Run `coroutine` with asyncio.run in a thread of its own and return its result: the
    test process may have an event loop running (the browser tests leave Playwright's),
    where asyncio.run refuses to start."""
    import asyncio

    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("value", asyncio.run(coroutine)))
    runner.start()
    runner.join(30)
    return result["value"]
