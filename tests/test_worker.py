"""The email worker is wired: django-tasks' database backend is the queue, `make run`
starts `manage.py db_worker` beside the server and stops it with it, docker-compose runs
it as a service, and a real worker process sends what the shop queued."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection, transaction

from checkout.factories import OrderFactory, OrderLineFactory
from checkout.models import OrderNotification
from checkout.services.notifications import notification_queue

ROOT = Path(settings.BASE_DIR)


def test_the_queue_is_django_tasks_database_backend():
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert {"django_tasks", "django_tasks_db"} <= set(settings.INSTALLED_APPS)
    # The database backend writes the task in the caller's transaction; no option of
    # django-tasks 0.12 defers it to commit (ENQUEUE_ON_COMMIT is gone), so none is set.
    assert "ENQUEUE_ON_COMMIT" not in settings.TASKS["default"]


def test_make_run_starts_the_worker_beside_the_server_and_stops_it_with_it():
    script = (ROOT / "scripts" / "run.sh").read_text()
    start = script.index('"$BIN/python" manage.py db_worker --no-reload &')
    serve = script.index('"$BIN/python" -m config.serve')
    assert start < serve
    assert "WORKER_PID=$!" in script[start:serve]
    [trap] = [line for line in script.splitlines() if line.startswith("trap ")][-1:]
    assert '"$WORKER_PID"' in trap and "EXIT" in trap
    # The emails' links point at the server that `make run` started.
    assert "export SHOP_BASE_URL=${SHOP_BASE_URL:-http://${HOST}:${PORT}}" in script


def test_compose_runs_the_worker_on_the_shared_database():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    worker = compose["services"]["worker"]
    assert worker["command"][:3] == ["python", "manage.py", "db_worker"]
    assert "--no-reload" in worker["command"]
    assert worker["environment"]["DATABASE_URL"].startswith("postgres://")
    assert worker["environment"] == compose["services"]["web"]["environment"]
    assert "EMAIL_HOST" in worker["environment"]
    assert "SHOP_BASE_URL" in worker["environment"]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_sends_what_the_shop_queued():
    order = OrderFactory(email="ada@example.com", amount_total=1800, status="paid")
    OrderLineFactory(order=order, name="Enamel mug", unit_amount=1800, quantity=1)
    with transaction.atomic():
        notification_queue(order=order, kind=OrderNotification.Kind.CONFIRMED)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",  # the console email backend: the email is printed
        DATABASE_URL=database_url(),
        SHOP_NAME="Fieldnote Supply",
        SHOP_BASE_URL="https://shop.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert f"Subject: [Fieldnote Supply] Order #{order.pk} is confirmed" in result.stdout
    assert "To: ada@example.com" in result.stdout
    assert f"https://shop.example.com/orders/{order.pk}/" in result.stdout
    notification = order.notifications.get()
    assert notification.status == OrderNotification.Status.SENT
