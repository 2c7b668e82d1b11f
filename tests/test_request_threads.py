"""config.asgi_handler: each request runs on a thread of its own, taken from the threads
earlier requests left idle (Django's handler started two threads per request)."""

import asyncio
import threading
import time

import pytest
from django.core.signals import request_finished, request_started
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from config.asgi_handler import RequestThreads, SyncChainASGIHandler
from tests.threads import in_a_loop_of_its_own

seen: list[tuple[str, int]] = []
_marks = threading.local()
_made = iter(range(10**9))


def thread_mark() -> int:
    """A number of this thread's own (thread idents are reused once a thread ends)."""
    if not hasattr(_marks, "number"):
        _marks.number = next(_made)
    return _marks.number


def where(request):
    seen.append(("view", thread_mark()))
    return HttpResponse(b"ok")


urlpatterns = [path("where/", where)]


def on_started(**kwargs):
    seen.append(("started", thread_mark()))


def on_finished(**kwargs):
    seen.append(("finished", thread_mark()))


async def get(app, path_: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path_,
        "raw_path": path_.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent = []
    received = False

    async def receive():
        nonlocal received
        if received:
            await asyncio.sleep(3600)  # no disconnect while the request runs
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.fixture
def app():
    seen.clear()
    request_started.connect(on_started)
    request_finished.connect(on_finished)
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
        handler = SyncChainASGIHandler()
        handler.threads = RequestThreads(keep=4)
        yield handler
    request_started.disconnect(on_started)
    request_finished.disconnect(on_finished)


def wait_for_idle(threads: RequestThreads, count: int) -> None:
    deadline = time.monotonic() + 5
    while threads.idle < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.django_db
def test_a_request_runs_on_one_thread_and_the_next_request_reuses_it(app):
    async def two_requests():
        first = await get(app, "/where/")
        wait_for_idle(app.threads, 1)
        second = await get(app, "/where/")
        return first, second

    assert in_a_loop_of_its_own(two_requests()) == (200, 200)

    kinds = [kind for kind, _ in seen]
    assert kinds == ["started", "view", "finished"] * 2
    assert len({ident for _, ident in seen}) == 1  # both requests, start to finish


def test_an_executor_goes_back_only_when_its_work_is_done():
    threads = RequestThreads(keep=4)
    executor = threads.take()
    release = threading.Event()
    executor.submit(release.wait)  # a view still running after its client left

    threads.give_back(executor)
    time.sleep(0.05)
    busy_meanwhile = threads.take()
    release.set()
    wait_for_idle(threads, 1)

    assert busy_meanwhile is not executor  # a new thread, not the busy one
    assert threads.take() is executor


def test_at_most_keep_threads_wait_idle():
    threads = RequestThreads(keep=2)
    executors = [threads.take() for _ in range(4)]
    for executor in executors:
        threads.give_back(executor)
    wait_for_idle(threads, 2)
    time.sleep(0.05)

    assert threads.idle == 2
    assert sum(executor._shutdown for executor in executors) == 2
