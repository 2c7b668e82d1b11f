"""Create the demo shop's promotion code at the Stripe emulator (make run only).

On a real Stripe account staff create codes in the dashboard (README). Here the
emulator starts empty, so the demo makes one code, WELCOME10 (10 % off), and prints it.
Run again, it finds the code already there.
"""

import os
import sys
import time

import requests

CODE = "WELCOME10"


def main() -> int:
    base = os.environ["STRIPE_API_BASE"].rstrip("/")
    http = requests.Session()
    http.auth = (os.environ["STRIPE_SECRET_KEY"], "")
    for _ in range(50):  # the emulator is starting beside us
        try:
            found = http.get(f"{base}/v1/promotion_codes", params={"code": CODE}, timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        print("demo promotion: the Stripe emulator did not answer", file=sys.stderr)
        return 1
    if not any(p.get("code") == CODE for p in found.json().get("data", [])):
        coupon = http.post(
            f"{base}/v1/coupons", data={"percent_off": "10", "name": "Welcome"}, timeout=5
        ).json()
        http.post(
            f"{base}/v1/promotion_codes",
            data={"promotion[type]": "coupon", "promotion[coupon]": coupon["id"], "code": CODE},
            timeout=5,
        ).raise_for_status()
    print(f"Promotion code for the demo: {CODE} (10 % off)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
