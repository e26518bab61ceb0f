"""IXFR from the journal, judged by dnspython as the client (every transfer signed with a key the
zone names):
  - a client 200 versions behind gets one condensed difference (four SOA records: new, old,
    new, new), and dnspython's own IXFR code, applying it to its copy at the old serial, gets
    exactly the zone ensign exports;
  - with --journal-max-entries 250, 60 more versions drop the oldest differences: the client at
    the first serial then gets the whole zone (AXFR style, counted as ixfr-full), one within the
    journal still a difference; --journal-max-bytes drops by size the same way;
  - IXFR over UDP gets the SOA alone (RFC 1995 section 2), up to date or not;
  - after a restart of ensign the serial and the journal are still there: the client in the
    middle still gets a difference."""
import random

import dns.query
import dns.rdatatype
import dns.xfr
import dns.zone

import livelib
import xfrlib
from test_live_signing import Generator, Model, seed

ZONE = "journal.example."
TSIGKEYS = "/api/v1/servers/localhost/tsigkeys"


def setup_zone(live):
    r = live.req("POST", TSIGKEYS, json={"name": xfrlib.KEY_NAME, "algorithm": xfrlib.KEY_ALG,
                                         "key": xfrlib.KEY_SECRET})
    assert r.status_code == 201, r.text
    live.create(ZONE)
    live.enable(ZONE)
    r = live.req("PUT", f"{livelib.ZONES}/{ZONE}/metadata/TSIG-ALLOW-AXFR",
                 json={"metadata": [xfrlib.KEY_NAME]})
    assert r.status_code == 200, r.text


def change(live, gen, n):
    serial = None
    for _ in range(n):
        r = live.patch(ZONE, gen.patch(gen.rng.randint(1, 2)))
        assert r.status_code == 204, r.text
        serial = int(r.headers["X-PDNS-New-Serial"])
    live.wait_serial(ZONE, serial)
    return serial


def copy_at(live):
    """dnspython's copy of the zone, by AXFR."""
    return dns.zone.from_xfr(dns.query.xfr(xfrlib.ADDR, ZONE, port=live.port, relativize=False,
                                           keyring=xfrlib.keyring(), keyname=xfrlib.KEY_NAME),
                             relativize=False)


def ixfr_records(live, serial):
    """The records of an IXFR from serial, in order."""
    msgs = dns.query.xfr(xfrlib.ADDR, ZONE, port=live.port, rdtype=dns.rdatatype.IXFR,
                         serial=serial, relativize=False, keyring=xfrlib.keyring(),
                         keyname=xfrlib.KEY_NAME)
    return [(rrset.rdtype, rd) for m in msgs for rrset in m.answer for rd in rrset]


def soa_serials(recs):
    return [rd.serial for t, rd in recs if t == dns.rdatatype.SOA]


def lines_of(zone):
    return sorted({f"{n.to_text().lower()} {rds.ttl} IN {dns.rdatatype.to_text(rds.rdtype)} "
                   f"{rd.to_text(relativize=False)}"
                   for n, node in zone.nodes.items() for rds in node.rdatasets for rd in rds})


def apply_ixfr(live, zone):
    """dnspython's inbound IXFR applied to its copy."""
    q, _ = dns.xfr.make_query(zone, keyring=xfrlib.keyring(), keyname=xfrlib.KEY_NAME)
    dns.query.inbound_xfr(xfrlib.ADDR, zone, q, port=live.port, lifetime=60)


def full_count(live):
    return livelib.metric(live.metrics(), "ensign_xfr_total", type="ixfr-full")


def test_condensed_ixfr_journal_limits_and_restart(tmp_path):
    s = seed()
    print(f"LIVE_SEED={s}")
    gen = Generator(Model(ZONE), random.Random(s))
    work = tmp_path / "ensign"
    with livelib.Live(work, extra=["--journal-max-entries", "250"]) as live:
        setup_zone(live)
        s0 = live.serial(ZONE)
        old = copy_at(live)
        s200 = change(live, gen, 200)
        assert s200 == s0 + 200

        recs = ixfr_records(live, s0)
        # one difference: SOA(new) SOA(old) deleted... SOA(new) added... SOA(new)
        assert soa_serials(recs) == [s200, s0, s200, s200], soa_serials(recs)
        assert recs[1][0] == dns.rdatatype.SOA
        apply_ixfr(live, old)
        assert lines_of(old) == xfrlib.text_lines(live.export(ZONE), ZONE)
        assert full_count(live) == 0

        # Up to date: the SOA alone, over TCP and UDP.
        assert soa_serials(ixfr_records(live, s200)) == [s200]
        q = dns.message.make_query(ZONE, "IXFR")
        q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA",
                                               f"a. b. {s0 + 100} 1 1 1 1"))
        q.use_tsig(xfrlib.keyring(), xfrlib.KEY_NAME)
        a = dns.query.udp(q, xfrlib.ADDR, port=live.port, timeout=5)
        assert [r.rdtype for r in a.answer] == [dns.rdatatype.SOA]
        assert a.answer[0][0].serial == s200 and not a.flags & dns.flags.TC

        # 60 more: 260 versions, 250 kept. The first serial is gone from the journal.
        s260 = change(live, gen, 60)
        recs = ixfr_records(live, s0)
        assert recs[0][0] == dns.rdatatype.SOA and recs[1][0] != dns.rdatatype.SOA
        assert soa_serials(recs) == [s260, s260], "not a whole zone"
        assert full_count(live) == 1
        mid = s0 + 100
        assert soa_serials(ixfr_records(live, mid)) == [s260, mid, s260, s260]

    # A restart keeps the serial and the journal.
    with livelib.Live(work, extra=["--journal-max-entries", "250"]) as live:
        assert live.serial(ZONE) == s260
        assert soa_serials(ixfr_records(live, mid)) == [s260, mid, s260, s260]
        old = copy_at(live)
        s270 = change(live, gen, 10)
        apply_ixfr(live, old)
        assert lines_of(old) == xfrlib.text_lines(live.export(ZONE), ZONE)
        assert soa_serials(ixfr_records(live, s0 + 190)) == [s270, s0 + 190, s270, s270]


def test_journal_byte_limit_drops_the_oldest(tmp_path):
    gen = Generator(Model(ZONE), random.Random(7))
    with livelib.Live(tmp_path / "ensign", extra=["--journal-max-bytes", "20000"]) as live:
        setup_zone(live)
        s0 = live.serial(ZONE)
        s = change(live, gen, 40)
        # about 1-3 KB a version: the first ones are gone, the last ones are there
        recs = ixfr_records(live, s0)
        assert soa_serials(recs) == [s, s] and recs[1][0] != dns.rdatatype.SOA
        assert soa_serials(ixfr_records(live, s - 2)) == [s, s - 2, s, s]
