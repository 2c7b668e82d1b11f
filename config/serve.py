"""uvicorn's command line, with TCP_NODELAY on every connection of every worker.

    python -m config.serve config.asgi:application --workers 2 ...   (uvicorn's options)

With `--workers N` uvicorn binds the listening socket itself, with `proto` left at 0;
asyncio turns TCP_NODELAY on only for sockets whose `proto` is IPPROTO_TCP, so Nagle's
algorithm stays on and each keep-alive request after the first waits ~40 ms for the
client's delayed ACK (uvicorn issue #3149, open for uvicorn 0.54): a single keep-alive
client gets about 23 requests/s instead of thousands. The Dockerfile, docker-compose.yml
and the benchmarks start uvicorn through here; BENCHMARKS.md has the figures.
"""

import socket
import sys

import uvicorn.config
import uvicorn.main

_bind_socket = uvicorn.config.Config.bind_socket


def _bind_socket_tcp(self: uvicorn.config.Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        # The same descriptor, declared TCP: accepted sockets inherit the protocol,
        # and multiprocessing hands it to the workers with it.
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


def main() -> None:
    # A deliberate monkeypatch (see above), which mypy forbids for methods.
    uvicorn.config.Config.bind_socket = _bind_socket_tcp  # type: ignore[method-assign]
    sys.exit(uvicorn.main.main(prog_name="uvicorn"))


if __name__ == "__main__":
    main()
