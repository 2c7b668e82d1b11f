"""The command line: --help, the start line, and --state-file persistence across restarts."""

import re
import subprocess
import sys
from pathlib import Path

from .conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def run_help():
    return subprocess.run(
        [sys.executable, "-m", "stripe_emulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )


def start(*args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    match = re.search(r"listening on (http://\S+)", line)
    assert match, line + proc.stderr.read()
    return proc, match.group(1)


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()


def test_help():
    out = run_help().stdout
    for option in ("--port", "--host", "--webhook-url", "--webhook-secret", "--public-url"):
        assert option in out
    for option in ("--state-file", "--retry-delays", "--async-delay"):
        assert option in out


def test_state_file_survives_restart(tmp_path):
    state = tmp_path / "state.json"
    proc, base = start("--state-file", str(state), "--public-url", "http://pay.local:9999")
    try:
        session = Api(base).create_session()
        assert session["url"].startswith("http://pay.local:9999/pay/")
        assert Api(base).pay(session["id"])[0] == 200
    finally:
        stop(proc)
    assert state.exists()
    proc, base = start("--state-file", str(state))
    try:
        status, again, _ = Api(base).get(f"/v1/checkout/sessions/{session['id']}")
        assert status == 200 and again["payment_status"] == "paid"
        _, events, _ = Api(base).get("/v1/events")
        assert [e["type"] for e in events["data"]] == ["checkout.session.completed"]
    finally:
        stop(proc)


def test_api_fault_options():
    out = run_help().stdout
    for option in ("--api-latency", "--api-error-rate", "--api-throttle-rate", "--rate-limit"):
        assert option in out
    proc, base = start("--api-error-rate", "1", "--api-error-status", "503")
    try:
        assert Api(base).get("/v1/events")[0] == 503
        assert Api(base).control("GET", "api_faults")[1]["error_rate"] == 1
    finally:
        stop(proc)
    bad = subprocess.run(
        [sys.executable, "-m", "stripe_emulator", "--api-error-rate", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert bad.returncode == 2 and "error_rate" in bad.stderr
