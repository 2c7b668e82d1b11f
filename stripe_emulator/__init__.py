"""A local stand-in for Stripe Checkout: the API, the hosted payment page and signed webhooks.

Dev and test tool only; the shop never imports it, it reaches it over HTTP through the
Stripe SDK with the API base pointed here. Standard library only. See README.md.

Command line::

    python -m stripe_emulator --port 12111 --host 127.0.0.1 \\
        --webhook-url http://127.0.0.1:8000/webhooks/stripe/ --webhook-secret whsec_test \\
        [--public-url URL] [--state-file PATH] [--retry-delays 1,5,30] [--async-delay 5] \\
        [--api-latency S] [--api-error-rate SHARE] [--api-throttle-rate SHARE] \\
        [--api-drop-rate SHARE] [--rate-limit] ...   (see --help)

In tests::

    from stripe_emulator.server import Emulator
    emu = Emulator(webhook_url=url, webhook_secret="whsec_test", retry_delays=(0.05, 0.1, 0.2),
                   async_delay=0.2)
    base_url = emu.start(host="127.0.0.1", port=0)
    client = stripe.StripeClient("sk_test_123", base_addresses={"api": base_url})
    ...
    emu.stop()

Stripe API (``Authorization: Bearer sk_test_...`` or ``rk_test_...``; form-encoded bodies;
``Idempotency-Key`` honoured on POSTs)::

    POST /v1/checkout/sessions                  GET /v1/checkout/sessions[?status=&payment_intent=]
    GET  /v1/checkout/sessions/{id}[?expand[]=line_items]
    GET  /v1/checkout/sessions/{id}/line_items  POST /v1/checkout/sessions/{id}/expire
    POST /v1/refunds  GET /v1/refunds[/{id}]  GET /v1/payment_intents[/{id}]  GET /v1/charges/{id}
    GET  /v1/events[?type=]                     GET /v1/events/{id}
    POST|GET /v1/shipping_rates[/{id}]   /v1/products[/{id}]   /v1/prices[/{id}]
    POST|GET /v1/coupons[/{id}]          /v1/promotion_codes[/{id}]

Lists: newest first, ``limit`` / ``starting_after`` / ``ending_before``, ``created[gte]=`` etc.
Sessions take ``line_items[][price]``, ``shipping_address_collection``, ``shipping_options``
(at most 5), ``discounts`` or ``allow_promotion_codes``, ``automatic_tax[enabled]`` (a flat
rate per country, pricing.TAX_RATES) and report ``shipping_cost``, ``collected_information``,
``total_details`` and ``discounts``; a session that comes to 0 completes with
``payment_status=no_payment_required``.

Hosted page: ``GET/POST /pay/{session id}`` (the session's ``url``). Cards: 4242 4242 4242 4242
pays, 4000 0000 0000 0002 declined, 4000 0000 0000 9995 insufficient funds, others incorrect;
"Delayed bank payment" completes unpaid and settles after ``async_delay`` (4242... succeeds).
The page also asks for a shipping address and method, billing country and promotion code when
the session calls for them.

Webhooks: checkout.session.completed / async_payment_succeeded / async_payment_failed /
expired, refund.created, charge.refunded; signed ``Stripe-Signature: t=..,v1=..``; retried
after ``retry_delays``.

Controls (no auth, JSON) under ``/_emulator/``: ``GET deliveries``, ``GET|POST clock``
(``{"advance": s}``), ``GET|POST|DELETE faults`` (duplicate, shuffle, fail_first, delay,
drop_types, drop_next), ``GET|POST|DELETE api_faults`` (latency, paths, error_rate /
error_next / error_status, throttle_rate / throttle_next / retry_after, drop_rate / drop_next,
rate_limit / rate_limit_global / rate_limit_endpoint; see faults.py), ``GET api_faults/injected``,
``GET|DELETE api_requests`` (the /v1/ requests received by endpoint; DELETE also clears them),
``POST sessions/{id}/pay`` (``{"card", "delayed", "email", "shipping_name", "shipping_address",
"shipping_rate", "promotion_code", "billing_address"}``),
``POST sessions/{id}/async`` (``{"succeed": bool}``), ``POST webhook`` (``{"url"}``),
``POST reset``, ``GET wait_idle?timeout=5``.
"""
