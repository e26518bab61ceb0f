"""Signatures are kept in the store: a signed zone of about 2000 names, changed a few times, is
served after SIGKILL and a restart on the same data directory exactly as before (every record,
RRSIG rdata byte for byte), without signing it again: the new process has made only a handful of
signatures (ensign_signatures_total) and no whole-zone signing (ensign_full_signs_total), and
the zone still passes dnssec-verify and ldns-verify-zone."""
import time

import dns.rdatatype

import livelib

ZONE = "big.example."
NAMES = 2000


def zone_text():
    lines = [f"$ORIGIN {ZONE}", "$TTL 3600",
             "@ SOA ns1 hostmaster 2024010101 3600 600 86400 300",
             "@ NS ns1", "ns1 A 192.0.2.53", "*.wild TXT \"wild\"",
             "deleg NS ns.deleg", "ns.deleg A 192.0.2.54", "deleg DS 4711 13 2 " + "3c" * 32]
    for i in range(NAMES):
        name = f"h{i}.g{i % 37}" if i % 5 == 0 else f"h{i}"
        lines.append(f"{name} A 198.51.{i // 250}.{i % 250 + 1}")
        if i % 7 == 0:
            lines.append(f"{name} AAAA 2001:db8::{i:x}")
        if i % 11 == 0:
            lines.append(f'{name} TXT "name {i}"')
    return "\n".join(lines) + "\n"


def full_set(text):
    """Every record of an export, RRSIGs with their rdata, as a set."""
    return {livelib.rr_key(o, ttl, rd) for o, ttl, rd in livelib.records(text, ZONE)}


def test_restart_serves_the_stored_signatures(tmp_path):
    work = tmp_path / "srv"
    live = livelib.Live(work).start()
    try:
        live.create(ZONE, text=zone_text())
        live.enable(ZONE)
        r = live.patch_ok(ZONE, [
            {"name": f"h1.{ZONE}", "type": "A", "ttl": 300, "changetype": "REPLACE",
             "records": [{"content": "192.0.2.1"}]},
            {"name": f"fresh.a.b.{ZONE}", "type": "TXT", "ttl": 300, "changetype": "REPLACE",
             "records": [{"content": '"new"'}]}])
        live.patch_ok(ZONE, [{"name": f"h2.{ZONE}", "type": "A", "changetype": "DELETE",
                              "records": []}])
        live.patch_ok(ZONE, [{"name": f"x{i}.{ZONE}", "type": "AAAA", "ttl": 60,
                              "changetype": "REPLACE", "records": [{"content": f"2001:db8::{i}"}]}
                             for i in range(5)])
        serial = live.serial(ZONE)
        assert serial >= r
        before = live.export(ZONE)
        nsigs = sum(1 for _, _, rd in livelib.records(before, ZONE)
                    if rd.rdtype == dns.rdatatype.RRSIG)
        assert nsigs > 2 * NAMES, nsigs
        livelib.verify(before, ZONE, tmp_path, tag="before")
        time.sleep(1)
        counted = live.metrics_response()
    finally:
        live.kill()

    with livelib.Live(work) as again:
        again.wait_serial(ZONE, serial, timeout=120)
        assert again.serial(ZONE) == serial
        after = again.export(ZONE)
        a, b = full_set(before), full_set(after)
        if a != b:
            changed = {(k[0], k[1]) for k in a ^ b}
            raise AssertionError(
                f"the zone served after the restart differs from the one before: "
                f"{len(a - b)} records gone, {len(b - a)} new, at {len(changed)} RRsets\n" +
                livelib.diff_sets(a, b, names=("before the kill", "after the restart")))
        livelib.verify(after, ZONE, tmp_path, tag="after")
        # The first process counted its signatures: at least one per RRSIG it served.
        assert counted.status_code == 200, f"GET /metrics: {counted.status_code} {counted.text}"
        made = livelib.metric(livelib.parse_metrics(counted.text), "ensign_signatures_total")
        assert made >= nsigs, (made, nsigs)
        m = again.metrics()
        assert livelib.metric(m, "ensign_full_signs_total") == 0
        assert livelib.metric(m, "ensign_signatures_total") < 10
        assert livelib.metric(m, "ensign_zone_serial", zone=ZONE) == serial
        assert livelib.metric(m, "ensign_zone_rrsig_earliest_expiry_seconds",
                              zone=ZONE) > time.time()
        # Still alive and signing: a change after the restart is served and signed.
        new = again.patch_ok(ZONE, [{"name": f"late.{ZONE}", "type": "A", "ttl": 300,
                                     "changetype": "REPLACE",
                                     "records": [{"content": "192.0.2.77"}]}])
        ans = again.query(f"late.{ZONE}", "A")
        assert livelib.rrsigs_in(ans) and ans.answer[0][0].address == "192.0.2.77"
        assert livelib.serial_gt(new, serial)
        livelib.verify(again.export(ZONE), ZONE, tmp_path, tag="changed")
        assert livelib.metric(again.metrics(), "ensign_full_signs_total") == 0
