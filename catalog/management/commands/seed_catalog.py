from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.demo import BASE_PRODUCTS, catalog_seed_demo


class Command(BaseCommand):
    help = (
        "Fill an empty catalog with demo products and pictures drawn locally. "
        "Does nothing when products exist, unless --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--products",
            type=int,
            default=len(BASE_PRODUCTS),
            metavar="N",
            help=f"how many products to make (default {len(BASE_PRODUCTS)}); "
            "beyond the base list they come in numbered colourways",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete every product (and its reservations and cart lines) first",
        )

    def handle(self, *args, products: int, reset: bool, **options):
        if products < 1 or products > 10_000:
            raise CommandError("--products must be between 1 and 10000")
        result = catalog_seed_demo(count=products, reset=reset)
        if result.skipped:
            self.stdout.write(
                f"Catalog already has {result.existing} products; nothing to do "
                "(use --reset to replace them)."
            )
            return
        deleted = f"deleted {result.deleted}, " if reset else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded catalog: {deleted}created {result.created} products "
                f"({result.sold_out} sold out, {result.low_stock} low on stock), "
                f"images in {settings.MEDIA_ROOT}/products/."
            )
        )
