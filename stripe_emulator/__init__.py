"""A local stand-in for Stripe Checkout: the API, the hosted payment page and signed webhooks.

Dev and test tool only; the shop never imports it, it reaches it over HTTP through the
Stripe SDK with the API base pointed here. Standard library only. See README.md.

Command line::

    python -m stripe_emulator --port 12111 --host 127.0.0.1 \\
        --webhook-url http://127.0.0.1:8000/webhooks/stripe/ --webhook-secret whsec_test \\
        [--public-url URL] [--state-file PATH] [--retry-delays 1,5,30] [--async-delay 5]

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
    POST /v1/refunds     GET /v1/refunds/{id}   GET /v1/payment_intents/{id}   GET /v1/charges/{id}
    GET  /v1/events[?type=]                     GET /v1/events/{id}

Hosted page: ``GET/POST /pay/{session id}`` (the session's ``url``). Cards: 4242 4242 4242 4242
pays, 4000 0000 0000 0002 declined, 4000 0000 0000 9995 insufficient funds, others incorrect;
"Delayed bank payment" completes unpaid and settles after ``async_delay`` (4242... succeeds).

Webhooks: checkout.session.completed / async_payment_succeeded / async_payment_failed /
expired, refund.created, charge.refunded; signed ``Stripe-Signature: t=..,v1=..``; retried
after ``retry_delays``.

Controls (no auth, JSON) under ``/_emulator/``: ``GET deliveries``, ``GET|POST clock``
(``{"advance": s}``), ``GET|POST|DELETE faults`` (duplicate, shuffle, fail_first, delay,
drop_types, drop_next), ``POST sessions/{id}/pay`` (``{"card", "delayed", "email"}``),
``POST sessions/{id}/async`` (``{"succeed": bool}``), ``POST webhook`` (``{"url"}``),
``POST reset``, ``GET wait_idle?timeout=5``.
"""
