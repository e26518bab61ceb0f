"""Signatures are refreshed before they expire, and a failing keystore keeps the last good
version served.

Expiry: `ensign serve --sig-validity 40 --sig-refresh 25` on the test clock serves a small signed
zone; for a minute of the server's time, moved on second by second, answers with DO for names of every kind (apex, data, wildcard,
empty non-terminal, NXDOMAIN, a delegation's DS proof) must carry only RRSIGs whose expiration is
later than the server's clock (and that validate with the served DNSKEY at that time), the count of
signatures made (ensign_signatures_total in GET /metrics) must keep growing, by at least one
refresh of every signed RRset, and the earliest expiry reported by the metrics and by the DNSSEC
status must lie in the future.

Keystore failure: a private key file that others may read is refused by the keystore. A PATCH
made then is committed (the store has it) but cannot be signed: DNS still answers the old serial
and the old data, the DNSSEC status names the key problem in lastSignError, and
ensign_zone_sign_failures_total counts the failure. Once the file is 0600 again the server's own
retry signs and serves the new version (the test clock moved on by the retries' backoff), and
lastSignError is cleared."""
import glob
import os

import dns.dnssec
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

import livelib

ZONE = "exp.example."
VALIDITY = 40
REFRESH = 25


def rrset(name, rtype, contents, ttl=300):
    return {"name": name, "type": rtype, "ttl": ttl, "changetype": "REPLACE",
            "records": [{"content": c} for c in contents]}


SMALL = [
    rrset(f"www.{ZONE}", "A", ["192.0.2.10"]),
    rrset(f"www.{ZONE}", "AAAA", ["2001:db8::10"]),
    rrset(f"txt.{ZONE}", "TXT", ['"hello"']),
    rrset(f"{ZONE}", "MX", [f"10 www.{ZONE}"]),
    rrset(f"*.wild.{ZONE}", "A", ["192.0.2.20"]),
    rrset(f"a.b.{ZONE}", "A", ["192.0.2.30"]),
    rrset(f"sub.{ZONE}", "NS", [f"ns.sub.{ZONE}"]),
    rrset(f"ns.sub.{ZONE}", "A", ["192.0.2.40"]),
    rrset(f"sec.{ZONE}", "NS", ["ns.example.net."]),
    rrset(f"sec.{ZONE}", "DS", ["4711 13 2 " + "5a" * 32]),
]

QUERIES = [
    (ZONE, "SOA"), (ZONE, "DNSKEY"), (ZONE, "NS"), (ZONE, "MX"), (f"www.{ZONE}", "A"),
    (f"www.{ZONE}", "AAAA"), (f"txt.{ZONE}", "TXT"), (f"x.wild.{ZONE}", "A"),
    (f"b.{ZONE}", "A"), (f"nothere.{ZONE}", "A"), (f"www.{ZONE}", "TXT"),
    (f"sub.{ZONE}", "DS"), (f"sec.{ZONE}", "DS"),
]


def create(live, zone=ZONE):
    body = [{**r, "name": r["name"].replace(ZONE, zone),
             "records": [{"content": c["content"].replace(ZONE, zone)} for c in r["records"]]}
            for r in SMALL]
    live.create(zone, rrsets=[r for r in body if r["name"] != zone])
    apex = [r for r in body if r["name"] == zone]
    if apex:
        live.patch_ok(zone, apex)


def signed_rrsets(text, origin):
    """(owner, covered type) of every RRSIG of an export."""
    return {(o.to_text().lower(), rd.type_covered)
            for o, _, rd in livelib.records(text, origin) if rd.rdtype == dns.rdatatype.RRSIG}


def check_answer(ans, keys, now, qname, qtype, violations):
    sigs = livelib.rrsigs_in(ans)
    if not sigs:
        violations.append(f"{now:.1f} {qname} {qtype}: no RRSIG in the answer")
    for owner, sig in sigs:
        if sig.expiration <= now:
            violations.append(f"{now:.1f} {qname} {qtype}: RRSIG {owner} {sig.to_text()} "
                              f"expired at {sig.expiration}")
        if sig.inception > now:
            violations.append(f"{now:.1f} {qname} {qtype}: RRSIG {owner} not yet valid")
        if sig.expiration > now + VALIDITY + 120:
            violations.append(f"{now:.1f} {qname} {qtype}: RRSIG {owner} expires at "
                              f"{sig.expiration}, more than {VALIDITY} s from now")
    # The signatures validate with the served keys (dnspython checks the times as well).
    for section in (ans.answer, ans.authority):
        for rs in section:
            if rs.rdtype == dns.rdatatype.RRSIG:
                continue
            covering = [s for s in section if s.rdtype == dns.rdatatype.RRSIG
                        and s.name == rs.name and s.covers == rs.rdtype]
            if not covering:
                if not (rs.rdtype == dns.rdatatype.NS and section is ans.authority):
                    violations.append(f"{now:.1f} {qname} {qtype}: {rs.name} "
                                      f"{dns.rdatatype.to_text(rs.rdtype)} unsigned")
                continue
            try:
                dns.dnssec.validate(rs, covering[0], {dns.name.from_text(ZONE): keys}, now=now)
            except dns.dnssec.ValidationFailure as e:
                violations.append(f"{now:.1f} {qname} {qtype}: {rs.name} "
                                  f"{dns.rdatatype.to_text(rs.rdtype)}: {e}")


def test_signatures_are_refreshed_before_they_expire(tmp_path):
    extra = ["--sig-validity", str(VALIDITY), "--sig-refresh", str(REFRESH)]
    with livelib.Live(tmp_path / "srv", extra=extra, test_clock="now") as live:
        create(live)
        live.enable(ZONE, denial="nsec3")
        text = live.export(ZONE)
        livelib.verify(text, ZONE, tmp_path, tag="start")
        rrsets = signed_rrsets(text, ZONE)
        ans = live.query(ZONE, "DNSKEY")
        keys = ans.find_rrset(ans.answer, dns.name.from_text(ZONE), dns.rdataclass.IN,
                              dns.rdatatype.DNSKEY)
        first = livelib.metric(live.metrics(), "ensign_signatures_total")
        assert first >= len(rrsets), (first, len(rrsets))
        counts = [first]
        violations = []
        rounds = 0
        for _ in range(62):
            now = live.clock(advance=1)
            for qname, qtype in QUERIES:
                ans = live.query(qname, qtype)
                check_answer(ans, keys, now, qname, qtype, violations)
            rounds += 1
            if rounds % 10 == 0:
                m = live.metrics()
                counts.append(livelib.metric(m, "ensign_signatures_total"))
                earliest = livelib.metric(m, "ensign_zone_rrsig_earliest_expiry_seconds",
                                          zone=ZONE)
                if earliest <= now:
                    violations.append(f"{now:.1f}: metrics earliest expiry {earliest} passed")
                st = live.status(ZONE)
                assert st["lastSignError"] is None, st
                assert st.get("rrsigEarliestExpiry"), st
                if livelib.parse_api_time(st["rrsigEarliestExpiry"]) <= int(now):
                    violations.append(f"{now:.1f}: status rrsigEarliestExpiry "
                                      f"{st['rrsigEarliestExpiry']} passed")
        assert not violations, f"{len(violations)} violations:\n" + "\n".join(violations[:30])
        assert rounds >= 50, rounds
        # The counter only grows, and grew by at least one refresh of every signed RRset (no
        # signature of the start lives 60 s with a validity of 40 s).
        assert counts == sorted(counts), counts
        assert counts[-1] - first >= len(rrsets), (counts, len(rrsets))
        assert len(set(counts)) > 2, f"no steady refresh: {counts}"
        # The served zone is still whole and valid.
        livelib.verify(live.export(ZONE), ZONE, tmp_path, tag="end")
        assert "ensign_full_signs_total" in {k[0] for k in live.metrics()}


def private_key_files(data):
    files = sorted(glob.glob(os.path.join(data, "keys", "*")))
    pems = [f for f in files if f.endswith(".private.pem")]
    assert pems, f"no private key file among {files}"
    return pems


def test_keystore_failure_keeps_the_old_version_served(tmp_path):
    zone = "ks.example."
    with livelib.Live(tmp_path / "srv", test_clock="now") as live:
        create(live, zone)
        live.enable(zone)
        old = live.serial(zone)
        pems = private_key_files(live.data)
        for p in pems:
            assert os.stat(p).st_mode & 0o777 == 0o600, oct(os.stat(p).st_mode)
        try:
            for p in pems:
                os.chmod(p, 0o644)
            r = live.patch(zone, [rrset(f"www.{zone}", "A", ["192.0.2.99"]),
                                  rrset(f"new.{zone}", "TXT", ['"after the failure"'])])
            # The change is committed: the API says so and gives the serial it will have.
            assert r.status_code == 204, r.text
            assert int(r.headers["X-PDNS-Old-Serial"]) == old
            new = int(r.headers["X-PDNS-New-Serial"])
            assert livelib.serial_gt(new, old)
            got = live.req("GET", f"{livelib.ZONES}/{zone}",
                           params={"rrset_name": f"www.{zone}", "rrset_type": "A"}).json()
            assert [x["content"] for rs in got["rrsets"] for x in rs["records"]
                    if rs["type"] == "A"] == ["192.0.2.99"], got
            # ... but the old version stays served, still signed (retries fail meanwhile).
            live.clock(advance=3)
            assert live.serial(zone) == old
            ans = live.query(f"www.{zone}", "A")
            assert [rd.address for rs in ans.answer if rs.rdtype == dns.rdatatype.A
                    for rd in rs] == ["192.0.2.10"], ans.to_text()
            assert livelib.rrsigs_in(ans), ans.to_text()
            assert live.query(f"new.{zone}", "TXT").rcode() == dns.rcode.NXDOMAIN
            st = live.status(zone)
            err = st["lastSignError"]
            assert err, st
            assert "key" in err.lower() and ("0644" in err or "mode" in err or "permission" in err
                                             or ".pem" in err), err
            assert st["enabled"] is True
            m = live.metrics()
            assert livelib.metric(m, "ensign_zone_sign_failures_total", zone=zone) > 0
            # The served version is the old one.
            assert livelib.metric(m, "ensign_zone_serial", zone=zone) == old
        finally:
            for p in pems:
                os.chmod(p, 0o600)
        # The server tries again by itself (backoff of at most about 30 s).
        live.clock(advance=60)
        st = live.status(zone)
        assert live.serial(zone) == new, f"new serial {new} not served after 60 s: {st}"
        assert st["lastSignError"] is None, st
        ans = live.query(f"www.{zone}", "A")
        assert [rd.address for rs in ans.answer if rs.rdtype == dns.rdatatype.A
                for rd in rs] == ["192.0.2.99"], ans.to_text()
        assert live.query(f"new.{zone}", "TXT").rcode() == dns.rcode.NOERROR
        livelib.verify(live.export(zone), zone, tmp_path, tag="recovered")
        assert livelib.metric(live.metrics(), "ensign_zone_serial", zone=zone) == new
