"""The stored prices check in real processes: a fresh database migrates, a changed
SHOP_CURRENCY stops `migrate` (so `make run` and docker compose never serve), and
`manage.py convert_prices` is the way back."""

import os
import subprocess
import sys

from django.conf import settings


def manage(tmp_path, *args: str, currency: str = "eur") -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "STRIPE_", "DATABASE_URL", "SHOP_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        SHOP_CURRENCY=currency,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_changed_currency_stops_migrate_until_prices_are_converted(tmp_path):
    fresh = manage(tmp_path, "migrate", "--noinput")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr  # no product table yet: no error
    made = manage(
        tmp_path,
        "shell",
        "-c",
        "from catalog.models import Product; "
        "Product.objects.create(name='Lamp', slug='lamp', unit_amount=1250)",
    )
    assert made.returncode == 0, made.stderr

    refused = manage(tmp_path, "migrate", "--noinput", currency="jpy")
    assert refused.returncode != 0
    assert "catalog.E001" in refused.stderr
    assert "python manage.py convert_prices --to jpy --rate" in refused.stderr

    converted = manage(tmp_path, "convert_prices", "--rate", "161.2", currency="jpy")
    assert converted.returncode == 0, converted.stderr
    assert "Lamp: €12.50 -> ¥2,015" in converted.stdout
    assert manage(tmp_path, "check", currency="jpy").returncode == 0
