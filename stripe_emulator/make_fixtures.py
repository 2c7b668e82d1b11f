"""Copy the fixture objects the emulator imitates out of Stripe's fixtures3.json.

Run once (the result, fixtures.json, is committed)::

    python -m stripe_emulator.make_fixtures ../shared/stripe/fixtures3.json
"""

import json
import sys
from pathlib import Path

NAMES = (
    "checkout.session",
    "event",
    "refund",
    "payment_intent",
    "charge",
    "item",
    "shipping_rate",
    "price",
    "product",
    "coupon",
    "promotion_code",
)


def main(argv: list[str]) -> None:
    source = Path(argv[0] if argv else "../shared/stripe/fixtures3.json")
    resources = json.loads(source.read_text())["resources"]
    out = {name: resources[name] for name in NAMES}
    target = Path(__file__).with_name("fixtures.json")
    target.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(out)} objects to {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
