"""Drive the Stripe emulator from tests the way Stripe would act on the shop.

The shop reaches the emulator only over HTTP through its gateway; tests use this
harness to pay sessions, read the events Stripe would send, and deliver them, signed,
to the shop's webhook.
"""

import hashlib
import hmac
import json
import time

import requests
from django.conf import settings
from django.urls import reverse


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


class StripeHarness:
    def __init__(self, emulator, base_url: str):
        self.emulator = emulator
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = "Bearer sk_test_harness"
        self.delivered: set[str] = set()

    # Stripe's side -------------------------------------------------------------------
    def control(self, method: str, path: str, payload: dict | None = None) -> dict:
        response = self.http.request(method, f"{self.base_url}/_emulator/{path}", json=payload)
        response.raise_for_status()
        return response.json()

    def pay(self, session_id: str, card: str = "4242424242424242", delayed: bool = False):
        response = self.http.post(
            f"{self.base_url}/_emulator/sessions/{session_id}/pay",
            json={"card": card, "delayed": delayed},
        )
        return response

    def complete_async(self, session_id: str, succeed: bool = True) -> dict:
        return self.control("POST", f"sessions/{session_id}/async", {"succeed": succeed})

    def session(self, session_id: str) -> dict:
        response = self.http.get(f"{self.base_url}/v1/checkout/sessions/{session_id}")
        response.raise_for_status()
        return response.json()

    def events(self, type: str | None = None) -> list[dict]:
        """All events, oldest first."""
        events, after = [], None
        while True:
            params = {"limit": 100}
            if type:
                params["type"] = type
            if after:
                params["starting_after"] = after
            page = self.http.get(f"{self.base_url}/v1/events", params=params).json()
            events.extend(page["data"])
            if not page.get("has_more"):
                break
            after = page["data"][-1]["id"]
        return list(reversed(events))

    # The shop's side -----------------------------------------------------------------
    def post_event(self, client, event: dict, *, secret: str | None = None, timestamp=None):
        payload = json.dumps(event).encode()
        signature = sign(payload, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp)
        return client.post(
            reverse("checkout:stripe_webhook"),
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )

    def deliver_new(self, client, type: str | None = None) -> list:
        """Deliver every event not delivered yet by this harness, oldest first."""
        responses = []
        for event in self.events(type):
            if event["id"] in self.delivered:
                continue
            self.delivered.add(event["id"])
            responses.append(self.post_event(client, event))
        return responses
