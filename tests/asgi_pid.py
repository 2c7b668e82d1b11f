"""A tiny ASGI application answering with its process id, for the launcher's tests
(tests/test_deployment.py): which worker served a connection."""

import os


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
