"""Webhook delivery against a local HTTP receiver (127.0.0.1, free port): HMAC-SHA256 signature of
the body, event and delivery headers, retries with backoff on 5xx and network errors, none on 4xx,
and a shutdown that cuts a long backoff short. Driven through tests/tools/webhook_send."""
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import threading
import time

from servelib import ADDR, free_port

TOOLS = os.environ.get("ENSIGN_TOOLS", "/work/main/build/asan/tools")
SEND = os.path.join(TOOLS, "webhook_send")
SECRET = "s3cret-for-tests"


class Receiver:
    """An HTTP server in a thread that answers POSTs with the statuses given, in order (the last
    one repeats), and records every request with its signature check."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                got = self.headers.get("X-Ensign-Signature")
                outer.requests.append({
                    "headers": dict(self.headers.items()),
                    "body": body,
                    "signature_ok": got is not None and hmac.compare_digest(got, want),
                })
                i = len(outer.requests) - 1
                status = outer.statuses[min(i, len(outer.statuses) - 1)]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((ADDR, self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://{ADDR}:{self.port}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def send(url, event, body, *opts, secret=SECRET, expect_rc=0, timeout=60):
    assert os.access(SEND, os.X_OK), f"{SEND} is missing: build with `make asan`"
    args = [SEND] + list(opts) + [url, secret, event, body]
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    assert p.returncode == expect_rc, p.stdout + p.stderr
    reports = []
    stats = {}
    deliveries = []
    for line in p.stdout.splitlines():
        f = line.split(" ")
        if f[0] == "report":
            reports.append({"attempt": int(f[1]), "status": int(f[2]),
                            "delivered": f[3] == "delivered=yes", "final": f[4] == "final=yes",
                            "delivery": f[5], "error": " ".join(f[6:])})
        elif f[0] == "stats":
            stats = {k: int(v) for k, v in (x.split("=") for x in f[1:])}
        elif f[0] == "delivery":
            deliveries.append(f[1])
    return reports, stats, deliveries, p.stdout


def test_delivery_succeeds_after_two_503_with_valid_signature_and_headers():
    body = json.dumps({"zone": "example.", "key_tag": 12345, "event": "dnssec.ds_seen"})
    with Receiver([503, 503, 200]) as rx:
        reports, stats, ids, out = send(rx.url, "dnssec.ds_seen", body, "--backoff", "100",
                                        "--attempts", "5")
    assert len(rx.requests) == 3, out
    assert stats == {"delivered": 1, "failed": 0, "retries": 2, "dropped": 0}, out
    assert [r["status"] for r in reports] == [503, 503, 200], out
    assert [r["final"] for r in reports] == [False, False, True]
    assert reports[-1]["delivered"] and reports[-1]["attempt"] == 3
    for req in rx.requests:
        h = {k.lower(): v for k, v in req["headers"].items()}
        assert req["signature_ok"], h
        assert req["body"] == body.encode()
        assert h["content-type"] == "application/json"
        assert h["x-ensign-event"] == "dnssec.ds_seen"
        # One delivery id for all attempts of one delivery.
        assert h["x-ensign-delivery"] == ids[0]
    assert len(ids[0]) == 36 and ids[0][14] == "4"


def test_client_error_is_not_retried():
    with Receiver([400]) as rx:
        reports, stats, _, out = send(rx.url, "dnssec.rotation_start", "{}", "--backoff", "50")
    assert len(rx.requests) == 1, out
    assert stats["failed"] == 1 and stats["delivered"] == 0 and stats["retries"] == 0, out
    assert len(reports) == 1 and reports[0]["final"] and reports[0]["status"] == 400
    assert "not retried" in reports[0]["error"]


def test_network_errors_are_retried_then_reported_as_failed():
    url = f"http://{ADDR}:{free_port()}/nobody-listens"
    reports, stats, _, out = send(url, "dnssec.sign_failed", '{"error":"x"}', "--backoff", "50",
                                  "--attempts", "3", "--timeout", "2000")
    assert stats["failed"] == 1 and stats["retries"] == 2, out
    assert [r["final"] for r in reports] == [False, False, True], out
    assert all(r["status"] == 0 and r["error"] != "-" for r in reports)


def test_shutdown_cuts_a_long_backoff_short():
    with Receiver([503]) as rx:
        t0 = time.monotonic()
        reports, _, _, out = send(rx.url, "dnssec.rotation_complete", "{}", "--backoff", "60000",
                                  "--drain", "300", "--wait", "0")
        elapsed = time.monotonic() - t0
    assert elapsed < 15, f"free waited {elapsed:.1f} s: {out}"
    assert len(rx.requests) == 1
    assert reports[-1]["final"] and "given up at shutdown" in reports[-1]["error"], out
    assert out.rstrip().endswith("freed")


def test_unknown_event_and_bad_url_are_refused():
    _, _, ids, out = send("http://127.0.0.1:1/", "dnssec.bogus", "{}", expect_rc=1)
    assert ids == [] and "refused" in out
    _, _, ids, out = send("ftp://127.0.0.1/", "dnssec.ds_seen", "{}", expect_rc=1)
    assert ids == [] and "refused" in out
