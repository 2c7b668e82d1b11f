"""Django's ASGI handler with the middleware chain and the view in one worker thread.

Django's own handler builds its middleware chain for async requests. Most middleware
(WhiteNoise, the shop's own, allauth's) is synchronous, so a request under it goes
from the event loop to a thread for the chain, back to the loop (async_to_sync) for
the innermost handler, and to the thread again for the (synchronous) view: three
hand-offs between the loop and a thread on top of the two every ASGI request makes
(the request_started signal before, response.close() after). Under load each
hand-off waits its turn on the loop; measured against a Django with no middleware at
all, that was most of what a page cost beyond its own work (BENCHMARKS.md).

This handler builds the chain as the WSGI handler does (synchronous, middleware after
middleware, then the view) and runs it with one `sync_to_async`: the same per-request
thread as before (asgiref's ThreadSensitiveContext, so the view's database connection
is the one the request_finished signal gives back), one hand-off instead of three.
Everything else is Django's ASGIHandler: reading the body, the signals, disconnects,
streaming. An async view would still run (through async_to_sync, as under WSGI); the
shop has none, and an async-only middleware would cost hand-offs again.

The request's thread is kept for the next request. Django's handler enters a fresh
ThreadSensitiveContext per request, for which asgiref starts a thread, and on leaving
it a second thread to join the first: two threads started per request, a fifth of a
worker's CPU on a cheap request (seen with py-spy on the flash sale's refused buyers).
Here each request still has a thread of its own for as long as it runs (a view waiting
on Stripe holds up no one else), taken from the threads earlier requests left idle, as
a threaded WSGI server does; Django gives the request's database connection back when
the request finishes, as under WSGI.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class RequestThreads:
    """Single-thread executors kept between requests: `take` one for a request, `give_back`
    it after. It goes back to the idle ones only once everything the request queued on
    it has run (a view still running after its client left keeps it busy), and at most
    `keep` wait there; one more is shut down, its thread ending when its work is done."""

    def __init__(self, keep: int):
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()

    def take(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        executor.submit(_nothing).add_done_callback(lambda _: self._idle_or_shutdown(executor))

    def _idle_or_shutdown(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)

    @property
    def idle(self) -> int:
        return len(self._idle)


def _nothing() -> None:
    return None


class SyncChainASGIHandler(ASGIHandler):
    threads = RequestThreads(keep=256)

    def load_middleware(self, is_async: bool = False) -> None:
        # ASGIHandler.__init__ asks for the async chain; the synchronous one is built.
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGIHandler.__call__, with the request's thread taken from idle ones."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(executor)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application, with this handler."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
