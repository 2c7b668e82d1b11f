"""Orders, stock holds and payments: the order lifecycle of DESIGN.md section 5.

One module per concept:

- `start`: starting a checkout (holds under row locks, then the Stripe session) and the
  shopper abandoning it;
- `transitions`: bringing an order in line with its Checkout Session (paid, processing,
  canceled), each transition a conditional change under the order's row lock;
- `refunds`: staff refunds and Stripe's confirmation of them;
- `events`: recording and applying Stripe's webhook events;
- `sweeper`: settling what webhooks and shoppers left open;
- `emails`: what the shop sends;
- `cart`: the shopper's cart.

    pending ──(paid)──────────────► paid ──(refund)──► refunding ──► refunded
       │  └─(complete, unpaid)─► processing ─(async ok)─► paid
       │                             └─(async failed)─► canceled
       ├─(expired / canceled)─────► canceled
       └─(paid, stock gone)─► refunding ─(refund confirmed)─► refunded

Stock on hand changes only when a payment is confirmed (and when staff restock a
refund). Locks are always taken in the same order: the order row first, then products
by id. Stripe is called outside any transaction; refunds and emails run on commit.
"""
