"""The shop's ASGI handler runs the middleware chain and the view in one worker thread
(config/asgi_handler.py), where Django's own crosses between the event loop and a thread
three times for a chain of synchronous middleware."""

import threading

from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

import config.asgi
from config.asgi_handler import SyncChainASGIHandler

seen: dict[str, int] = {}


def view(request):
    seen["view"] = threading.get_ident()
    return HttpResponse(b"ok", content_type="text/plain")


def streaming(request):
    from django.http import StreamingHttpResponse

    async def parts():
        yield b"one "
        yield b"two"

    return StreamingHttpResponse(parts())


def broken(request):
    raise RuntimeError("the view failed")


class Recorder:
    """A synchronous middleware, like all of the shop's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seen["middleware"] = threading.get_ident()
        response = self.get_response(request)
        response["X-Seen-By"] = "recorder"
        return response


urlpatterns = [path("", view), path("stream/", streaming), path("broken/", broken)]

SETTINGS = {
    "ROOT_URLCONF": __name__,
    "MIDDLEWARE": [f"{__name__}.Recorder"],
    "ALLOWED_HOSTS": ["testserver"],
}


async def get(application, path_: str) -> tuple[int, dict[bytes, bytes], bytes]:
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
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return start["status"], dict(start["headers"]), body


def test_the_shop_is_served_by_the_one_thread_handler():
    assert isinstance(config.asgi.application, SyncChainASGIHandler)
    assert not iscoroutinefunction(config.asgi.application._middleware_chain)


def test_middleware_and_view_run_in_one_thread_off_the_event_loop():
    import asyncio

    with override_settings(**SETTINGS):
        handler = SyncChainASGIHandler()
        seen.clear()
        status, headers, body = asyncio.run(get(handler, "/"))

    assert (status, body, headers[b"X-Seen-By"]) == (200, b"ok", b"recorder")
    assert seen["middleware"] == seen["view"] != threading.get_ident()


def test_streaming_answers_and_errors_are_answered_as_by_djangos_handler():
    import asyncio

    with override_settings(**SETTINGS, DEBUG=False):
        handler = SyncChainASGIHandler()
        streamed = asyncio.run(get(handler, "/stream/"))
        failed = asyncio.run(get(handler, "/broken/"))

    assert streamed[0] == 200 and streamed[2] == b"one two"
    assert failed[0] == 500
