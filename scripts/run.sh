#!/usr/bin/env bash
# `make run`: migrate, seed an empty database, start the Stripe emulator when no real
# Stripe key is configured, and serve the shop with uvicorn. Ctrl-C stops both.
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
fi

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py seed_demo

# The sweeper would run every minute in production (docker-compose.yml); here it
# runs alongside the server so lapsed holds and lost webhooks are reconciled.
(
    while sleep 60; do "$BIN/python" manage.py sweep_checkouts || true; done
) &
SWEEPER_PID=$!
trap 'kill "$SWEEPER_PID" "${EMULATOR_PID:-}" 2>/dev/null || true' EXIT INT TERM

echo "Serving the shop on http://${HOST}:${PORT}"
"$BIN/python" -m config.serve config.asgi:application --host "$HOST" --port "$PORT" --no-access-log
