"""A real Prometheus (the Debian package) watches ensign with the shipped alert rules.

ensign runs on its test clock with signatures valid one hour (renewed at half). Prometheus
scrapes GET /metrics every second with a token of the metrics permission, read from a bearer
token file (the administrator key is nowhere in its configuration), and evaluates the shipped
rules (monitoring/ensign_rules.yml) every second; the only change made to them for the test is
their `for:` durations, set to one second, since Prometheus waits in real time while ensign's
clock is moved by the test.

Signing is then stopped: the keystore refuses the zone's key files once others may read them
(chmod 0644). The test clock moves on past two thirds of the validity, so the renewal due at
half fails and the earliest signature has less than a third of its validity left:
EnsignSignaturesExpiring (severity page) must fire for that zone, and only for it, with its
runbook. Once the key files are 0600 again and the clock moves past the retry, ensign signs the
zone whole: the alert must resolve. Prometheus's own view of ensign (up, the token's scope, the
rules loaded) is checked on the way."""
import glob
import os
import re

import requests

import livelib
import opslib

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "monitoring", "ensign_rules.yml")
VALIDITY = 3600
ZONE = "prom.example."
QUIET = "quiet.example."


def templated_rules(path):
    """The shipped rules with every `for:` made one second (nothing else changes)."""
    with open(RULES) as f:
        text = f.read()
    out = re.sub(r"(?m)^(\s+for:\s*)\S+\s*$", r"\g<1>1s", text)
    assert out.count("for: 1s") >= 5, "the rules have no for: to shorten"
    # nothing but the for: lines differs
    strip = lambda t: re.sub(r"(?m)^\s+for:.*\n", "", t)  # noqa: E731
    assert strip(out) == strip(text)
    with open(path, "w") as f:
        f.write(out)
    return path


def firing(prom, name, zone=None):
    return [a for a in prom.alerts() if a["labels"].get("alertname") == name and
            a["state"] == "firing" and (zone is None or a["labels"].get("zone") == zone)]


def test_alert_fires_when_signing_stops_and_resolves_when_it_resumes(tmp_path):
    live = livelib.Live(tmp_path / "ensign", test_clock="now",
                        extra=["--sig-validity", str(VALIDITY)])
    with live:
        for z in (ZONE, QUIET):
            live.create(z, rrsets=[{"name": f"www.{z}", "type": "A", "ttl": 60,
                                    "records": [{"content": "192.0.2.10"}]}])
            live.enable(z)
        r = live.req("POST", "/api/v1/tokens", json={"name": "prometheus", "permission": "metrics"})
        assert r.status_code == 201, r.text
        token_file = opslib.write_secret(str(tmp_path / "ensign-token"), r.json()["token"])
        rules = templated_rules(str(tmp_path / "ensign_rules.yml"))
        config = f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: ensign
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: {token_file}
    static_configs:
      - targets: ["127.0.0.1:{live.srv.api_port}"]
"""
        assert livelib.KEY not in config
        with opslib.Prometheus(tmp_path / "prometheus", config) as prom:
            # Prometheus scrapes ensign with the metrics token
            opslib.wait_for(lambda: [x for x in prom.query('up{job="ensign"}')
                                     if x["value"][1] == "1"], "up{job=ensign} == 1")
            targets = prom.api("targets")["activeTargets"]
            assert [t["health"] for t in targets] == ["up"], targets
            groups = prom.api("rules")["groups"]
            names = {r["name"] for g in groups for r in g["rules"]}
            assert {"EnsignSignaturesExpiring", "EnsignSignaturesAging", "EnsignSigningFailing",
                    "EnsignParentDSMismatch", "EnsignRolloverStuck",
                    "EnsignZoneNotValidating"} <= names, names
            opslib.wait_for(lambda: prom.query(
                f'ensign_zone_rrsig_expiry_remaining_seconds{{zone="{ZONE}"}}'),
                "the zone's expiry in Prometheus")
            assert not firing(prom, "EnsignSignaturesExpiring")

            # signing stops: the keystore refuses the zone's keys
            pems = glob.glob(os.path.join(live.data, "keys", ZONE.rstrip(".") + "*.private.pem"))
            assert pems
            for p in pems:
                os.chmod(p, 0o644)
            live.clock(advance=VALIDITY * 2 // 3 + 100)
            m = live.metrics()
            left = livelib.metric(m, "ensign_zone_rrsig_expiry_remaining_seconds", zone=ZONE)
            assert 0 < left < VALIDITY / 3, left
            assert livelib.metric(m, "ensign_zone_sign_pending", zone=ZONE) == 1
            # the other zone renewed at half as usual
            assert livelib.metric(m, "ensign_zone_rrsig_expiry_remaining_seconds",
                                  zone=QUIET) > VALIDITY / 2
            alerts = opslib.wait_for(lambda: firing(prom, "EnsignSignaturesExpiring", ZONE),
                                     "EnsignSignaturesExpiring firing", timeout=60)
            a = alerts[0]
            assert a["labels"]["severity"] == "page", a
            assert a["annotations"]["runbook_url"] == "docs/runbooks/signatures-expiring.md"
            assert ZONE in a["annotations"]["summary"], a
            assert not firing(prom, "EnsignSignaturesExpiring", QUIET)
            opslib.wait_for(lambda: firing(prom, "EnsignSignaturesAging", ZONE),
                            "EnsignSignaturesAging firing", timeout=60)

            # signing resumes: the retry signs the zone whole
            for p in pems:
                os.chmod(p, 0o600)
            live.clock(advance=60)
            m = live.metrics()
            assert livelib.metric(m, "ensign_zone_sign_pending", zone=ZONE) == 0
            assert livelib.metric(m, "ensign_zone_rrsig_expiry_remaining_seconds",
                                  zone=ZONE) > VALIDITY / 2
            opslib.wait_for(lambda: not firing(prom, "EnsignSignaturesExpiring"),
                            "EnsignSignaturesExpiring resolved", timeout=60)
            opslib.wait_for(lambda: not firing(prom, "EnsignSignaturesAging"),
                            "EnsignSignaturesAging resolved", timeout=60)
            # Prometheus read the rules without complaint
            assert "level=error" not in prom.log(), prom.log()
        # what the scrapes did: GET /metrics with the token (no 401/403 among them)
        r = requests.get(live.base + "/metrics", headers={"X-API-Key": livelib.KEY}, timeout=30)
        reqs = livelib.parse_metrics(r.text)
        assert livelib.metric(reqs, "ensign_api_requests_total", route="metrics", code="200") > 5
        assert ("ensign_api_requests_total",
                frozenset({("route", "metrics"), ("code", "403")})) not in reqs
