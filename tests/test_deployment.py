"""docker-compose.yml and the Dockerfile keep the production shape of DESIGN.md 9."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_services_of_the_production_shape(compose):
    services = compose["services"]
    assert {"db", "redis", "web", "sweeper", "stripe"} <= set(services)
    assert services["db"]["image"] == "postgres:16"
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["stripe"]["profiles"] == ["stripe"]
    assert "http://web:8000/webhooks/stripe/" in services["stripe"]["command"]


def test_web_migrates_then_serves_with_several_uvicorn_workers(compose):
    command = compose["services"]["web"]["command"]
    assert command.index("migrate") < command.index("config.serve config.asgi:application")
    assert "--workers" in command
    assert compose["services"]["web"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_sweeper_runs_every_minute(compose):
    command = compose["services"]["sweeper"]["command"]
    assert "sweep_checkouts" in command and "sleep 60" in command


def test_web_and_sweeper_share_postgres_and_redis(compose):
    for name in ("web", "sweeper"):
        env = compose["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://redis:")


def test_every_setting_read_from_the_environment_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    source = (ROOT / "config" / "settings.py").read_text()

    names = set(re.findall(r'env(?:_bool|_int|_list)?\("([A-Z_]+)"', source))
    names.discard("DJANGO_TESTING")  # set by config/settings_test.py, not by people
    missing = sorted(n for n in names if f"\n{n}=" not in "\n" + example)
    assert names and not missing, missing


def test_dockerfile_builds_css_with_node_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM node:20" in dockerfile and "AS css" in dockerfile
    assert "npm run build:tailwind" in dockerfile
    assert "COPY --from=css" in dockerfile
    assert "\nUSER shop\n" in dockerfile
    assert '"config.serve", "config.asgi:application"' in dockerfile


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed")
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "--profile", "stripe", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_serve_launcher_gives_worker_sockets_tcp_nodelay():
    """uvicorn --workers binds a socket with proto 0, on which asyncio never sets
    TCP_NODELAY; config.serve declares it TCP so every accepted connection gets it."""
    import socket

    import uvicorn.config

    import config.serve as serve

    config = uvicorn.config.Config("config.asgi:application", host="127.0.0.1", port=0)
    plain = serve._bind_socket(config)
    try:
        assert plain.proto == 0  # uvicorn's own socket: asyncio would leave Nagle on
    finally:
        plain.close()
    fixed = serve._bind_socket_tcp(config)
    try:
        assert fixed.proto == socket.IPPROTO_TCP
    finally:
        fixed.close()
