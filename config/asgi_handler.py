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
"""

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # ASGIHandler.__init__ asks for the async chain; the synchronous one is built.
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application, with this handler."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
