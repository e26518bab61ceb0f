"""secondsUntilBogus: the time until a validating resolver could be given bogus data by any
server of a zone, counted on the test clock with a real secondary that stops refreshing.

`ensign serve --sig-validity 3000 --sig-refresh 1000 --test-clock now` signs a zone; NSD (through
xfrlib, TSIG) transfers it and is stopped: ensign keeps it as a secondary at that serial. The
earliest RRSIG expiration of NSD's copy, read from NSD itself by AXFR with dnspython before it
stops, is the oracle: bogusAt in the DNSSEC status must be exactly that time while NSD's copy
is the oldest one held, also after ensign renewed its own signatures (what it serves then
expires later); secondsUntilBogus and the metric ensign_zone_seconds_until_bogus count down to
it with the test clock; the warning (log event dnssec.bogus_warning) appears once less than a
third of the validity is left, not before."""
import dns.rdata
import dns.rdataclass
import dns.rdatatype

import livelib
import xfrlib

ZONE = "bogus.example."
VALIDITY = 3000
REFRESH = 1000
TSIGKEYS = "/api/v1/servers/localhost/tsigkeys"


def earliest_expiration(lines):
    """The earliest RRSIG expiration among AXFR lines `owner ttl IN TYPE rdata`."""
    exp = []
    for line in lines:
        owner, ttl, cls, rtype, rdata = line.split(" ", 4)
        if rtype == "RRSIG":
            exp.append(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.RRSIG,
                                           rdata).expiration)
    assert exp, "no RRSIG in the copy"
    return min(exp)


def warnings(live):
    return [x for x in live.log().splitlines() if "dnssec.bogus_warning" in x]


def check(live, now, want_at):
    st = live.status(ZONE)
    assert livelib.parse_api_time(st["bogusAt"]) == want_at, (st, want_at)
    assert st["secondsUntilBogus"] == max(0, want_at - now), (st, now, want_at)
    m = live.metrics()
    assert livelib.metric(m, "ensign_zone_seconds_until_bogus", zone=ZONE) == max(
        0, want_at - now)
    return st


def test_seconds_until_bogus_follows_a_secondary_that_stopped(tmp_path):
    extra = ["--sig-validity", str(VALIDITY), "--sig-refresh", str(REFRESH)]
    with livelib.Live(tmp_path / "ensign", extra=extra, test_clock="now") as live:
        r = live.req("POST", TSIGKEYS, json={"name": xfrlib.KEY_NAME, "algorithm": xfrlib.KEY_ALG,
                                             "key": xfrlib.KEY_SECRET})
        assert r.status_code == 201, r.text
        live.create(ZONE, rrsets=[{"name": f"www.{ZONE}", "type": "A", "ttl": 300,
                                   "records": [{"content": "192.0.2.1"}]}])
        # unsigned: nothing can be bogus
        st = live.status(ZONE)
        assert st["bogusAt"] is None and st["secondsUntilBogus"] is None, st
        live.enable(ZONE)
        r = live.req("PUT", f"{livelib.ZONES}/{ZONE}/metadata/TSIG-ALLOW-AXFR",
                     json={"metadata": [xfrlib.KEY_NAME]})
        assert r.status_code == 200, r.text
        serial = live.serial(ZONE)
        with xfrlib.NsdSecondary(tmp_path / "nsd", [ZONE], live.port, addr="127.0.0.11") as nsd:
            nsd.wait_serial(ZONE, serial)
            held = earliest_expiration(nsd.axfr(ZONE))
        # ensign knows the secondary at that serial
        r = live.req("GET", f"{livelib.ZONES}/{ZONE}", params={"rrsets": "false"})
        seen = {e["address"]: e["serial"] for e in r.json()["secondaries"]}
        assert seen.get("127.0.0.11") == serial, seen
        now = live.clock(advance=0)
        st = check(live, now, held)
        assert livelib.parse_api_time(st["rrsigEarliestExpiry"]) == held, st
        assert warnings(live) == []
        # ensign renews its own signatures; NSD's copy stays what it was
        now = live.clock(advance=held - now - VALIDITY // 3 - 100)
        check(live, now, held)
        assert warnings(live) == []
        # ensign renews its own signatures (less than REFRESH left); NSD's copy stays old
        now = live.clock(advance=200)
        assert held - now < min(VALIDITY // 3, REFRESH), (held, now)
        st = check(live, now, held)
        assert live.serial(ZONE) != serial, "no renewal"
        # what ensign serves now expires later than NSD's copy
        sigs = [sig for _, sig in livelib.rrsigs_in(live.query(f"www.{ZONE}", "A"))]
        assert sigs and min(sig.expiration for sig in sigs) > held, sigs
        lines = warnings(live)
        assert len(lines) == 1, live.log()[-3000:]
        assert " warn " in lines[0] and ZONE in lines[0], lines
        # the countdown goes on with the clock
        now = live.clock(advance=100)
        check(live, now, held)
        assert len(warnings(live)) == 1
