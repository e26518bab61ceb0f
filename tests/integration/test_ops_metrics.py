"""GET /metrics, as Prometheus and an on-call engineer read it.

promtool check metrics finds nothing in a scrape where every family has samples (signed and
unsigned zones, a key policy mid-rollover, a parent with a stale DS, DNS and API traffic,
webhooks). The DNS server's counters match the queries sent (by transport, type and rcode;
truncations; packets dropped) and its latency histogram counts every answer; the API's count
requests by route class and status. Per-zone series exist only where they mean something (an
unsigned zone has its serial alone), per-server series only for a parent server that disagrees,
and `?zones=problems` keeps only the zones that need attention. A parent holding a DS of no key
of ours shows as a mismatch whose age follows ensign's clock, and goes once the parent is fixed."""
import socket
import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import requests

import livelib
import servelib

ZONES = livelib.ZONES
PARENT = "mparent.example."
CHILD = "c." + PARENT
UNSIGNED = "plain.example."
STALE_DS = "4711 13 2 " + "ab" * 32


def scrape(live, **params):
    r = live.req("GET", "/metrics", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.text


def series(text, name):
    return {k: v for k, v in livelib.parse_metrics(text).items() if k[0] == name}


def labels_of(text, name):
    return [dict(k[1]) for k in series(text, name)]


def set_parent_ds(parent, records):
    rr = {"name": CHILD, "type": "DS", "ttl": 60, "changetype": "REPLACE",
          "records": [{"content": c} for c in records]}
    r = parent.patch(PARENT, [rr])
    assert r.status_code in (200, 204), r.text


def test_metrics_are_valid_bounded_and_follow_the_parent(tmp_path):
    with livelib.Live(tmp_path / "parent") as parent, \
            livelib.Live(tmp_path / "child", test_clock="now") as child:
        parent.create(PARENT, rrsets=[
            {"name": CHILD, "type": "NS", "ttl": 60, "records": [{"content": f"ns1.{CHILD}"}]},
            {"name": f"ns1.{CHILD}", "type": "A", "ttl": 60,
             "records": [{"content": "127.0.0.1"}]}])
        set_parent_ds(parent, [STALE_DS])
        r = child.req("POST", f"/api/v1/servers/localhost/policies",
                      json={"name": "roll", "zskLifetime": 30 * 86400})
        assert r.status_code == 201, r.text
        child.create(CHILD)
        child.enable(CHILD, policy="roll", parentServers=[f"127.0.0.1:{parent.port}"])
        child.create(UNSIGNED)
        r = child.req("POST", "/api/v1/servers/localhost/webhooks",
                      json={"url": "http://127.0.0.1:9/hook", "secret": "s"})
        assert r.status_code == 201, r.text
        child.clock(advance=5)  # the first probes
        text = scrape(child)
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                              text=True)
        assert lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(), \
            lint.stdout + lint.stderr

        # per zone: only what applies
        unsigned = {k[0] for k in livelib.parse_metrics(text) if ("zone", UNSIGNED) in k[1]}
        assert unsigned == {"ensign_zone_serial"}, unsigned
        signed = {k[0] for k in livelib.parse_metrics(text) if ("zone", CHILD) in k[1]}
        for name in ("ensign_zone_serial", "ensign_zone_rrsig_earliest_expiry_seconds",
                     "ensign_zone_rrsig_expiry_remaining_seconds",
                     "ensign_zone_signature_validity_seconds", "ensign_zone_sign_failures_total",
                     "ensign_zone_verify_failures_total", "ensign_zone_sign_pending",
                     "ensign_zone_sign_duration_seconds", "ensign_zone_ds_delegated",
                     "ensign_zone_parent_servers", "ensign_zone_parent_ds_ttl_seconds",
                     "ensign_zone_rollover_phase", "ensign_zone_rollover_phase_seconds",
                     "ensign_zone_next_key_event_seconds"):
            assert name in signed, f"{name} missing for {CHILD}: {sorted(signed)}"
        m = livelib.parse_metrics(text)
        assert livelib.metric(m, "ensign_zone_signature_validity_seconds", zone=CHILD) == 14 * 86400
        left = livelib.metric(m, "ensign_zone_rrsig_expiry_remaining_seconds", zone=CHILD)
        now = livelib.metric(m, "ensign_clock_seconds")
        assert left == livelib.metric(m, "ensign_zone_rrsig_earliest_expiry_seconds",
                                      zone=CHILD) - now
        phase = labels_of(text, "ensign_zone_rollover_phase")
        assert [p["zone"] for p in phase] == [CHILD] and phase[0]["kind"] == "none", phase
        assert livelib.metric(m, "ensign_zone_next_key_event_seconds", zone=CHILD) > 0

        # the stale DS: the parent's one server disagrees
        problems = labels_of(text, "ensign_zone_parent_server_problem")
        assert problems == [{"zone": CHILD, "server": f"127.0.0.1:{parent.port}",
                             "state": "stale"}], problems
        assert livelib.metric(m, "ensign_zone_parent_servers", zone=CHILD, state="stale") == 1
        assert livelib.metric(m, "ensign_zone_ds_delegated", zone=CHILD) == 0
        age0 = livelib.metric(m, "ensign_zone_parent_ds_mismatch_seconds", zone=CHILD)
        child.clock(advance=600)
        m = livelib.parse_metrics(scrape(child))
        assert livelib.metric(m, "ensign_zone_parent_ds_mismatch_seconds", zone=CHILD) >= age0 + 600
        assert livelib.metric(m, "ensign_zone_parent_ds_ttl_seconds", zone=CHILD) == 86400
        assert livelib.metric(m, "ensign_zones_parent_mismatch") == 1
        # only the zones that need attention: the child (its parent disagrees), not the other
        prob = scrape(child, zones="problems")
        zones = {dict(k[1]).get("zone") for k in livelib.parse_metrics(prob)} - {None}
        assert zones == {CHILD}, zones
        none = scrape(child, zones="none")
        assert not [k for k in livelib.parse_metrics(none) if dict(k[1]).get("zone")]
        assert livelib.metric(livelib.parse_metrics(none), "ensign_zones", dnssec="on") == 1
        assert child.req("GET", "/metrics", params={"zones": "some"}).status_code == 422

        # the parent fixed: our DS and nothing else; the disagreement goes
        ds = [d["ds"] for d in child.req("GET", f"{ZONES}/{CHILD}/ds-records").json()
              if d["ds"].split()[2] == "2"]
        set_parent_ds(parent, ds)
        for _ in range(40):
            child.clock(advance=30)
            m = livelib.parse_metrics(scrape(child))
            if ("ensign_zone_parent_ds_mismatch_seconds", frozenset({("zone", CHILD)})) not in m:
                break
        text = scrape(child)
        assert not labels_of(text, "ensign_zone_parent_server_problem"), text
        assert not series(text, "ensign_zone_parent_ds_mismatch_seconds")
        m = livelib.parse_metrics(text)
        assert livelib.metric(m, "ensign_zone_parent_servers", zone=CHILD, state="seen") == 1
        assert livelib.metric(m, "ensign_zones_parent_mismatch") == 0


def qtype_count(m, transport, qtype):
    return m.get(("ensign_dns_queries_total",
                  frozenset({("transport", transport), ("qtype", qtype)})), 0)


def rcode_count(m, transport, rcode):
    return m.get(("ensign_dns_responses_total",
                  frozenset({("transport", transport), ("rcode", rcode)})), 0)


def test_dns_and_api_counters_match_the_traffic(tmp_path):
    z = "count.example."
    with livelib.Live(tmp_path) as live:
        big = ['"' + str(i) * 200 + '"' for i in range(8)]
        live.create(z, rrsets=[
            {"name": f"www.{z}", "type": "A", "ttl": 60, "records": [{"content": "192.0.2.1"}]},
            {"name": f"big.{z}", "type": "TXT", "ttl": 60,
             "records": [{"content": t} for t in big]}])
        before = live.metrics()
        port = live.port

        def udp(name, t, **kw):
            return dns.query.udp(dns.message.make_query(name, t, **kw), servelib.ADDR, port=port,
                                 timeout=5)

        for _ in range(3):
            assert udp(f"www.{z}", "A").rcode() == 0
        for _ in range(2):
            udp(f"www.{z}", "MX")
        udp(f"nothere.{z}", "A")                         # NXDOMAIN
        udp("elsewhere.invalid.", "A")                   # REFUSED
        udp(f"www.{z}", "TYPE65280")                     # a type counted as other
        r = udp(f"big.{z}", "TXT", use_edns=False)       # truncated
        assert r.flags & dns.flags.TC
        dns.query.tcp(dns.message.make_query(f"www.{z}", "AAAA"), servelib.ADDR, port=port,
                      timeout=5)
        # a response sent to the server: no answer, counted as dropped
        resp = dns.message.make_response(dns.message.make_query(f"www.{z}", "A")).to_wire()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(resp, (servelib.ADDR, port))
        # API traffic: three 200s on the zones route, two 404s
        for _ in range(3):
            assert live.req("GET", ZONES).status_code == 200
        for _ in range(2):
            assert live.req("GET", f"{ZONES}/nope.example.").status_code == 404
        after = livelib.parse_metrics(scrape(live))

        def d(f, *a):
            return f(after, *a) - f(before, *a)

        assert d(qtype_count, "udp", "A") == 5
        assert d(qtype_count, "udp", "MX") == 2
        assert d(qtype_count, "udp", "TXT") == 1
        assert d(qtype_count, "udp", "other") == 1
        assert d(qtype_count, "tcp", "AAAA") == 1
        assert d(rcode_count, "udp", "NXDOMAIN") == 1
        assert d(rcode_count, "udp", "REFUSED") == 1
        assert d(rcode_count, "udp", "NOERROR") == 7
        assert d(rcode_count, "tcp", "NOERROR") == 1

        def one(m, name, **labels):
            return m.get((name, frozenset(labels.items())), 0)

        assert one(after, "ensign_dns_truncated_total") - one(before, "ensign_dns_truncated_total") == 1
        dropped = [one(m, "ensign_dns_dropped_total", transport="udp") for m in (before, after)]
        assert dropped[1] - dropped[0] == 1
        # one answer in eight is timed (the first of each worker among them); the +Inf bucket
        # is the count
        answers = sum(v for k, v in after.items() if k[0] == "ensign_dns_responses_total")
        count = one(after, "ensign_dns_answer_duration_seconds_count")
        assert 1 <= count <= answers // 8 + 2, (count, answers)
        assert count == one(after, "ensign_dns_answer_duration_seconds_bucket", le="+Inf")
        assert one(after, "ensign_dns_answer_duration_seconds_sum") > 0
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                         if k[0] == "ensign_dns_answer_duration_seconds_bucket"
                         and dict(k[1])["le"] != "+Inf")
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
        # the API
        api = [one(m, "ensign_api_requests_total", route="zones", code=c)
               for m in (before, after) for c in ("200", "404")]
        assert api[2] - api[0] >= 3 and api[3] - api[1] == 2, api
        h = one(after, "ensign_api_request_duration_seconds_count", route="zones")
        assert h == sum(v for k, v in after.items() if k[0] == "ensign_api_requests_total"
                        and dict(k[1])["route"] == "zones")


def test_metrics_need_the_metrics_permission(tmp_path):
    with livelib.Live(tmp_path) as live:
        tokens = {}
        for perm in ("metrics", "read", "update"):
            r = live.req("POST", "/api/v1/tokens", json={"name": perm, "permission": perm})
            assert r.status_code == 201, r.text
            tokens[perm] = r.json()["token"]
        get = lambda t: requests.get(live.base + "/metrics",  # noqa: E731
                                     headers={"Authorization": f"Bearer {t}"}, timeout=30)
        assert get(tokens["metrics"]).status_code == 200
        assert get(tokens["read"]).status_code == 403
        assert get(tokens["update"]).status_code == 403
        r = requests.get(live.base + ZONES, headers={"Authorization": f"Bearer {tokens['metrics']}"},
                         timeout=30)
        assert r.status_code == 403
