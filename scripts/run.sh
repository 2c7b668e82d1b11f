#!/usr/bin/env bash
# `make run`: migrate, seed an empty database, start the Stripe emulator when no real
# Stripe key is configured, and serve the shop with uvicorn, beside the sweeper and the
# email worker. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
EMULATOR_PORT=${EMULATOR_PORT:-12111}
export DJANGO_DEBUG=${DJANGO_DEBUG:-1}

if [[ -z "${STRIPE_SECRET_KEY:-}" ]]; then
    export STRIPE_SECRET_KEY=sk_test_emulator
    export STRIPE_WEBHOOK_SECRET=whsec_emulator
    export STRIPE_API_BASE=${STRIPE_API_BASE:-http://127.0.0.1:${EMULATOR_PORT}}
    # The emulator started here is meant, even with DJANGO_DEBUG=0 (config/settings.py
    # otherwise refuses a non-Stripe STRIPE_API_BASE in production).
    export STRIPE_ALLOW_NON_STRIPE_API_BASE=1
    mkdir -p var
    "$BIN/python" -m stripe_emulator --host 127.0.0.1 --port "$EMULATOR_PORT" \
        --webhook-url "http://${HOST}:${PORT}/webhooks/stripe/" \
        --webhook-secret "$STRIPE_WEBHOOK_SECRET" \
        --state-file var/stripe_emulator.json &
    EMULATOR_PID=$!
    trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT INT TERM
    echo "Stripe emulator on ${STRIPE_API_BASE} (no STRIPE_SECRET_KEY set); pay with 4242 4242 4242 4242"
    # The demo takes promotion codes, and has one (staff create them in Stripe's dashboard).
    export STRIPE_ALLOW_PROMOTION_CODES=${STRIPE_ALLOW_PROMOTION_CODES:-1}
    "$BIN/python" scripts/demo_promotion.py || true
fi

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py seed_demo

# The sweeper would run every minute in production (docker-compose.yml); here it
# runs alongside the server so lapsed holds and lost webhooks are reconciled, and the
# reconciliations staff ask for are run.
(
    while sleep 60; do
        "$BIN/python" manage.py sweep_checkouts || true
        # Reconciliations staff ask for on /admin/sales/, and one a day (docker-compose:
        # the `reconcile` service). Exit 1 means discrepancies, printed here.
        "$BIN/python" manage.py reconcile_stripe --queue --daily || true
    done
) &
SWEEPER_PID=$!

# Emails leave through the background worker, never from the request or webhook that
# caused them (docker-compose.yml runs it as `worker`). With no EMAIL_HOST they are
# printed here. Their links point at this server.
export SHOP_BASE_URL=${SHOP_BASE_URL:-http://${HOST}:${PORT}}
"$BIN/python" manage.py db_worker --no-reload &
WORKER_PID=$!
trap 'kill "$SWEEPER_PID" "$WORKER_PID" "${EMULATOR_PID:-}" 2>/dev/null || true' EXIT INT TERM

echo "Serving the shop on http://${HOST}:${PORT}"
"$BIN/python" -m config.serve config.asgi:application --host "$HOST" --port "$PORT" --no-access-log
