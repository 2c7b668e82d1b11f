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
    # Through the proxy, as Stripe's own deliveries come (its body limit applies).
    assert "http://proxy/webhooks/stripe/" in services["stripe"]["command"]


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


# --- Several web processes behind a proxy (DESIGN.md 9) ----------------------------------

NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "default.conf.template"


def test_only_the_proxy_publishes_a_port_so_that_web_scales(compose):
    """`docker compose up --scale web=3` needs a web service with no fixed host port
    (and no container name); the proxy publishes the shop's one port."""
    services = compose["services"]
    web, proxy = services["web"], services["proxy"]
    assert "ports" not in web and "container_name" not in web
    assert web["expose"] == ["8000"]
    assert proxy["image"].startswith("nginx:")
    assert [str(port).split(":")[-1] for port in proxy["ports"]] == ["80"]
    assert proxy["depends_on"]["web"]["condition"] == "service_started"
    assert "server web:8000;" in proxy["environment"]["SHOP_UPSTREAM"]


def test_the_proxy_serves_uploaded_images_from_the_volume_every_web_writes(compose):
    services = compose["services"]
    assert "media:/app/var/media" in services["web"]["volumes"]
    proxy = services["proxy"]
    assert "media:/srv/media:ro" in proxy["volumes"]
    assert proxy["environment"]["MEDIA_ROOT"] == "/srv/media"
    assert "./deploy/nginx/templates:/etc/nginx/templates:ro" in proxy["volumes"]
    template = NGINX_TEMPLATE.read_text()
    assert re.search(r"location /media/ \{\s*alias \$\{MEDIA_ROOT\}/;", template)


def test_the_shop_believes_forwarded_headers_from_the_proxys_address_alone(compose):
    import ipaddress

    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    for name in ("web", "sweeper", "worker"):
        trusted = compose["services"][name]["environment"]["DJANGO_TRUSTED_PROXIES"]
        assert trusted == proxy_address
    template = NGINX_TEMPLATE.read_text()
    # The client as nginx saw it, replacing what the client sent; the scheme as set.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in template
    assert "proxy_set_header X-Forwarded-Proto ${FORWARDED_PROTO};" in template
    assert "--no-proxy-headers" in compose["services"]["web"]["command"]


def _size(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", text.lower()).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def test_request_bodies_are_limited_per_path():
    """Admin uploads (product images) may be large, Stripe's events never are."""
    template = NGINX_TEMPLATE.read_text()
    default = _size(re.search(r"^    client_max_body_size (\w+);", template, re.M).group(1))
    limits = {
        path: _size(size)
        for path, size in re.findall(
            r"location (/\S*) \{[^}]*?client_max_body_size (\w+);", template, re.S
        )
    }
    assert limits["/admin/"] > default > limits["/webhooks/stripe/"]
    assert limits["/webhooks/stripe/"] >= 64 * 1024  # Stripe's largest events fit


def nginx_config(template: str, **values: str) -> str:
    """The template as the nginx image's entrypoint renders it (envsubst of the
    variables it is given only)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")
def test_the_nginx_config_is_accepted_by_nginx(tmp_path):
    rendered = nginx_config(
        NGINX_TEMPLATE.read_text(),
        SHOP_UPSTREAM="server 127.0.0.1:9;",
        PROXY_LISTEN="127.0.0.1:9",
        MEDIA_ROOT=str(tmp_path),
        FORWARDED_PROTO="$scheme",
    )
    assert not re.search(r"\$\{\w+\}", rendered)  # every variable given a value
    (tmp_path / "shop.conf").write_text(rendered)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/shop.conf;\n}}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_production_leaves_media_to_the_proxy():
    """Django's static.serve is for development and tests only."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 50,
        "STRIPE_SECRET_KEY": "sk_test_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from config.urls import media_urlpatterns; "
        "print(settings.SERVE_MEDIA, len(media_urlpatterns()), settings.TRUSTED_PROXIES)"
    )
    import sys

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=2)[:2] == ["False", "0"]


def test_serve_launcher_gives_each_worker_a_listening_socket_of_its_own(tmp_path):
    """With SO_REUSEPORT per worker the kernel spreads connections over the workers: a
    few keep-alive connections opened together reach both (uvicorn's one shared socket
    let the first worker to wake take them all)."""
    import http.client
    import socket
    import sys
    import time

    from config.serve import reuse_port_supported

    if not reuse_port_supported():
        pytest.skip("no SO_REUSEPORT here")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "tests.asgi_pid:app", "--workers", "2",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        served: set[str] = set()
        deadline = time.monotonic() + 60
        while len(served) < 2 and time.monotonic() < deadline:
            # 16 connections at once: all on one worker has a chance of 2 in 65,536.
            clients = []
            try:
                for _ in range(16):
                    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    client.connect()
                    clients.append(client)
            except OSError:
                time.sleep(0.3)  # the workers are still starting
                continue
            finally:
                for client in clients:
                    if client.sock is None:
                        continue
                    client.request("GET", "/")
                    served.add(client.getresponse().read().decode())
                    client.close()
        assert len(served) == 2, served
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.django_db
def test_the_daily_job_checks_the_stock_and_prunes_what_piles_up(compose):
    """Every command of the daily job runs here as compose runs it: old email task rows
    and expired sessions do not pile up."""
    import shlex

    from django.core.management import call_command

    command = compose["services"]["inventory-check"]["command"]
    assert "sleep 86400" in command
    steps = [shlex.split(step) for step in re.findall(r"python manage\.py ([^;\"]+)", command)]
    names = [step[0] for step in steps]
    assert names == ["check_inventory", "prune_db_task_results", "clearsessions"]
    for name, *args in steps:
        call_command(name, *args, verbosity=0)
