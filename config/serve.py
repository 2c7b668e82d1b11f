"""uvicorn's command line, with TCP_NODELAY on every connection of every worker.

    python -m config.serve config.asgi:application --workers 2 ...   (uvicorn's options)

With `--workers N` uvicorn binds the listening socket itself, with `proto` left at 0;
asyncio turns TCP_NODELAY on only for sockets whose `proto` is IPPROTO_TCP, so Nagle's
algorithm stays on and each keep-alive request after the first waits ~40 ms for the
client's delayed ACK (uvicorn issue #3149, open for uvicorn 0.54): a single keep-alive
client gets about 23 requests/s instead of thousands. The Dockerfile, docker-compose.yml
and the benchmarks start uvicorn through here; BENCHMARKS.md has the figures.

Second, each worker listens on a socket of its own (SO_REUSEPORT, Linux), so that the
kernel spreads new connections over the workers. With uvicorn's one shared socket the
first worker to wake accepts every connection waiting (asyncio accepts in a loop):
with few long-lived connections, a proxy's keep-alive pool or a load tool's, one
worker served them all while the other idled. The supervisor still binds the port (so
a port in use fails at start), but never listens on it. `--no-reuse-port` turns this
off; it is off anyway with one worker, and where the system has no SO_REUSEPORT.

This module runs again in every worker (multiprocessing's spawn imports the main
module as __mp_main__), which is how the workers get their half of the change.
"""

import os
import socket
import sys
from collections.abc import Sequence

import uvicorn.config
import uvicorn.main
import uvicorn.server

_bind_socket = uvicorn.config.Config.bind_socket
_startup = uvicorn.server.Server.startup

# Inherited by the workers, which decide by it whether to listen on sockets of their own.
REUSE_PORT_ENV = "SHOP_SERVE_REUSE_PORT"


def _bind_socket_tcp(self: uvicorn.config.Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        # The same descriptor, declared TCP: accepted sockets inherit the protocol,
        # and multiprocessing hands it to the workers with it.
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


def reuse_port_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _reusable(sock: socket.socket) -> bool:
    return os.environ.get(REUSE_PORT_ENV) == "1" and sock.family in (
        socket.AF_INET,
        socket.AF_INET6,
    )


def _bind_socket_shared_port(self: uvicorn.config.Config) -> socket.socket:
    """The supervisor's socket, TCP (above) and, with reuse-port, bound again with
    SO_REUSEPORT so that the workers may bind the same address. It is never listened
    on: a connection goes to a worker's own listening socket only."""
    sock = _bind_socket_tcp(self)
    if not _reusable(sock):
        return sock
    address = sock.getsockname()
    shared = socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.close()
    shared.bind(address)
    shared.set_inheritable(True)
    return shared


def worker_sockets(sockets: Sequence[socket.socket]) -> list[socket.socket]:
    """In a worker: a socket of its own, bound with SO_REUSEPORT to the address of each
    inherited TCP socket (which it then closes: the supervisor keeps its own)."""
    own = []
    for sock in sockets:
        if not _reusable(sock):
            own.append(sock)
            continue
        mine = socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        mine.bind(sock.getsockname())
        sock.close()
        own.append(mine)
    return own


async def _startup_own_sockets(
    self: uvicorn.server.Server, sockets: list[socket.socket] | None = None
) -> None:
    if sockets is not None:
        sockets = worker_sockets(sockets)
    await _startup(self, sockets=sockets)


def _workers(argv: Sequence[str]) -> int:
    """--workers N from uvicorn's command line (or WEB_CONCURRENCY, as uvicorn reads it)."""
    for index, arg in enumerate(argv):
        if arg == "--workers" and index + 1 < len(argv):
            return int(argv[index + 1])
        if arg.startswith("--workers="):
            return int(arg.split("=", 1)[1])
    return int(os.environ.get("WEB_CONCURRENCY") or 1)


if os.environ.get(REUSE_PORT_ENV) == "1":
    # In a worker (this module imported again as __mp_main__): listen on its own socket.
    uvicorn.server.Server.startup = _startup_own_sockets  # type: ignore[method-assign]


def main() -> None:
    argv = sys.argv[1:]
    reuse_port = "--no-reuse-port" not in argv
    sys.argv[1:] = [arg for arg in argv if arg != "--no-reuse-port"]
    reuse_port = reuse_port and reuse_port_supported() and _workers(sys.argv[1:]) > 1
    os.environ[REUSE_PORT_ENV] = "1" if reuse_port else "0"
    if not reuse_port:  # one process serves: it listens on uvicorn's own socket
        uvicorn.server.Server.startup = _startup  # type: ignore[method-assign]
    # Deliberate monkeypatches (see above), which mypy forbids for methods.
    uvicorn.config.Config.bind_socket = _bind_socket_shared_port  # type: ignore[method-assign]
    sys.exit(uvicorn.main.main(prog_name="uvicorn"))


if __name__ == "__main__":
    main()
