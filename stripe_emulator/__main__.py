"""Command line: ``python -m stripe_emulator --port 12111 --webhook-url URL ...``."""

import argparse
import logging
import sys

from .server import Emulator


def parse_delays(text: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of seconds: {text}") from None
    if any(d < 0 for d in delays):
        raise argparse.ArgumentTypeError("retry delays must not be negative")
    return delays


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="Local stand-in for Stripe Checkout: API, hosted payment page, signed "
        "webhooks. Point the Stripe SDK's api base at it. Dev and test tool only.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port to bind (12111; 0 = any)")
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="where events are POSTed (none: events are recorded, not delivered)",
    )
    parser.add_argument(
        "--webhook-secret",
        default="whsec_test",
        help="signing secret for Stripe-Signature (whsec_test)",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="base of the hosted page URL in sessions (default http://HOST:PORT)",
    )
    parser.add_argument(
        "--state-file", default=None, help="JSON file: loaded at start, saved after each change"
    )
    parser.add_argument(
        "--retry-delays",
        type=parse_delays,
        default=(1.0, 5.0, 30.0),
        help="seconds between webhook retries, comma-separated (1,5,30)",
    )
    parser.add_argument(
        "--async-delay",
        type=float,
        default=5.0,
        help="seconds before a delayed bank payment settles (5)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    emulator = Emulator(
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        public_url=args.public_url,
        retry_delays=args.retry_delays,
        async_delay=args.async_delay,
        state_file=args.state_file,
    )
    base_url = emulator.start(args.host, args.port)
    print(
        f"Stripe emulator listening on {base_url} (webhooks -> {args.webhook_url or 'none'})",
        flush=True,
    )
    try:
        emulator._stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
