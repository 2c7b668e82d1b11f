"""Command line: ``python -m stripe_emulator --port 12111 --webhook-url URL ...``."""

import argparse
import logging
import sys

from .faults import check_api_faults
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
    faults = parser.add_argument_group(
        "API faults",
        "Injected into /v1/ calls only (never the hosted page or /_emulator/ controls); "
        "change or reset them at run time with POST / DELETE /_emulator/api_faults. "
        "A reset returns to the values given here.",
    )
    faults.add_argument(
        "--api-latency", type=float, metavar="S", help="sleep S seconds before each API call (0)"
    )
    faults.add_argument(
        "--api-fault-paths",
        type=parse_paths,
        metavar="PREFIXES",
        help="comma-separated path prefixes the faults below and --api-latency apply to "
        "(default: every /v1/ path), e.g. /v1/refunds,/v1/checkout/sessions",
    )
    faults.add_argument(
        "--api-error-rate",
        type=float,
        metavar="SHARE",
        help="share (0-1) of API calls answered with --api-error-status, not run (0)",
    )
    faults.add_argument(
        "--api-error-status",
        type=int,
        choices=(500, 502, 503, 504),
        help="status of those errors (500)",
    )
    faults.add_argument(
        "--api-throttle-rate",
        type=float,
        metavar="SHARE",
        help="share (0-1) of API calls answered 429 rate_limit with a Retry-After header (0)",
    )
    faults.add_argument(
        "--api-retry-after", type=int, metavar="S", help="Retry-After of those 429s (1)"
    )
    faults.add_argument(
        "--api-drop-rate",
        type=float,
        metavar="SHARE",
        help="share (0-1) of API calls that run, then lose the connection half-way through "
        "the answer (0)",
    )
    faults.add_argument(
        "--rate-limit",
        action="store_true",
        default=None,
        help="answer 429 rate_limit past Stripe's sandbox limits, as Stripe does",
    )
    faults.add_argument(
        "--rate-limit-global",
        type=int,
        metavar="N",
        help="with --rate-limit: API calls per second in all (25)",
    )
    faults.add_argument(
        "--rate-limit-endpoint",
        type=int,
        metavar="N",
        help="with --rate-limit: calls per second to any one endpoint (25)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


# command-line option -> API fault (faults.py)
API_FAULT_OPTIONS = {
    "api_latency": "latency",
    "api_fault_paths": "paths",
    "api_error_rate": "error_rate",
    "api_error_status": "error_status",
    "api_throttle_rate": "throttle_rate",
    "api_retry_after": "retry_after",
    "api_drop_rate": "drop_rate",
    "rate_limit": "rate_limit",
    "rate_limit_global": "rate_limit_global",
    "rate_limit_endpoint": "rate_limit_endpoint",
}


def parse_paths(text: str) -> list[str]:
    paths = [part.strip() for part in text.split(",") if part.strip()]
    if not all(path.startswith("/") for path in paths):
        raise argparse.ArgumentTypeError(f"path prefixes must start with '/': {text}")
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    api_faults = {
        fault: getattr(args, option)
        for option, fault in API_FAULT_OPTIONS.items()
        if getattr(args, option) is not None
    }
    try:
        check_api_faults(api_faults)
    except ValueError as exc:
        parser.error(str(exc))
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
        api_faults=api_faults,
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
