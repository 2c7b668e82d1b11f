# A product's currency defaults to SHOP_CURRENCY as it is when the product is made (a
# callable), not as it was when a migration was written: a shop in JPY gets no
# "changed default" migration. No SQL: Django keeps Python defaults out of the schema.
#
# Products already in another currency are left as they are, on purpose: no rate is known
# here, and hiding them would take them from shoppers and open checkouts without a word.
# catalog.checks refuses to start while any price disagrees with SHOP_CURRENCY and names
# the fix, `python manage.py convert_prices --to <currency> --rate <rate>` (or --relabel).

from django.db import migrations, models

import theme.money


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_stock_ledger"),
    ]

    operations = [
        migrations.AlterField(
            model_name="product",
            name="currency",
            field=models.CharField(
                default=theme.money.shop_currency,
                help_text="The shop's currency (SHOP_CURRENCY); changed only by manage.py "
                "convert_prices.",
                max_length=3,
            ),
        ),
    ]
