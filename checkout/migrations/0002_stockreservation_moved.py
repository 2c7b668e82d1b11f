"""StockReservation now lives in catalog (state only: its table and rows stay)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("checkout", "0001_initial"),
        ("catalog", "0002_stockreservation_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StockReservation")],
            database_operations=[],
        ),
    ]
