from django.core.management.base import BaseCommand, CommandError

from catalog.inventory import inventory_check


class Command(BaseCommand):
    help = (
        "Check that every product's stock on hand equals the sum of its stock movements "
        "and is not negative. Prints one summary line, then each mismatch; exits 1 on any "
        "mismatch. Holds above stock on hand (after a write-off) are warnings only."
    )

    def handle(self, *args, **options) -> None:
        report = inventory_check()
        self.stdout.write(report.summary())
        for problem in report.mismatches:
            self.stdout.write(self.style.ERROR(f"MISMATCH {problem}"))
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"WARNING {warning}"))
        if report.mismatches:
            raise CommandError(f"{len(report.mismatches)} product(s) disagree with the ledger")
