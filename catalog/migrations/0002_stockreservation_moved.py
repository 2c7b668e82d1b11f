"""StockReservation moves from checkout to catalog, which owns stock (state only).

The table keeps its name (checkout_stockreservation) and its rows: live holds stay.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("checkout", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StockReservation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("quantity", models.PositiveIntegerField()),
                        ("expires_at", models.DateTimeField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("active", "Active"),
                                    ("consumed", "Consumed (paid)"),
                                    ("released", "Released"),
                                ],
                                default="active",
                                max_length=10,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "order",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="reservations",
                                to="checkout.order",
                            ),
                        ),
                        (
                            "product",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="reservations",
                                to="catalog.product",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "checkout_stockreservation",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("status", "active")),
                                fields=["product", "expires_at"],
                                name="reservation_active_by_product",
                            )
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("quantity__gt", 0)),
                                name="reservation_quantity_positive",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
