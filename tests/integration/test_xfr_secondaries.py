"""ensign as the hidden primary of NSD, Knot and BIND: each real program is a secondary of two
signed zones (NSEC3 and NSEC), transfers signed with a TSIG key (TSIG-ALLOW-AXFR) and NOTIFY
signed with the same key (NSD `allow-notify ... KEY`, a Knot ACL with the key). NSD and Knot
listen and send from loopback addresses of their own (127.0.0.11, .12; named listens only on
addresses of an interface, so it keeps 127.0.0.1), so ensign sees three secondaries.

After the first AXFR, seeded random PATCHes through the API (adds, deletes, EXTEND and PRUNE,
empty non-terminals, wildcards, delegations with and without DS; XFR_CHANGES of them, 500 by
default, LIVE_SEED=N repeats a run) go to the two zones. Then every secondary answers ensign's
serial (NOTIFY made them fetch, nobody polls that fast); each secondary's copy, read from it by
AXFR, is record for record ensign's export and passes ldns-verify-zone and BIND's dnssec-verify;
every transfer after the first was an IXFR (ensign answered no IXFR with the whole zone, its
AXFR counter moved only when NSD restarted a transfer after its own reload failed, as it logs, and
Knot's log shows IXFR only; named 9.18 does not log the kind at level info); the zone's status lists the three secondaries at the
final serial; and a validating Unbound asking each secondary (trust anchor: the zone's DS) gets
AD answers, and NXDOMAIN with AD for a name the changes never made."""
import os
import random
import time

import dns.flags
import dns.rcode

import livelib
import servelib
import xfrlib
from test_live_signing import Generator, Model, ds_anchor, seed

CHANGES = int(os.environ.get("XFR_CHANGES", "500"))
ZONES = [("nsec3.xfr.example.", {"denial": "nsec3"}), ("nsec.xfr.example.", {"denial": "nsec"})]
SECONDARIES = [(xfrlib.NsdSecondary, "127.0.0.11"), (xfrlib.KnotSecondary, "127.0.0.12"),
               (xfrlib.BindSecondary, "127.0.0.1")]
TSIGKEYS = "/api/v1/servers/localhost/tsigkeys"


def put_meta(live, zone, kind, values):
    r = live.req("PUT", f"{livelib.ZONES}/{zone}/metadata/{kind}", json={"metadata": values})
    assert r.status_code == 200, r.text


def test_nsd_knot_and_bind_follow_ensign(tmp_path):
    s = seed()
    print(f"LIVE_SEED={s}")
    rng = random.Random(s)
    names = [z for z, _ in ZONES]
    with livelib.Live(tmp_path / "ensign") as live:
        r = live.req("POST", TSIGKEYS, json={"name": xfrlib.KEY_NAME, "algorithm": xfrlib.KEY_ALG,
                                             "key": xfrlib.KEY_SECRET})
        assert r.status_code == 201, r.text
        secs = [cls(tmp_path / cls.name, names, live.port, addr=addr)
                for cls, addr in SECONDARIES]
        for zone, opts in ZONES:
            live.create(zone)
            live.enable(zone, **opts)
            put_meta(live, zone, "TSIG-ALLOW-AXFR", [xfrlib.KEY_NAME])
            put_meta(live, zone, "ALSO-NOTIFY", [f"{x.addr}:{x.port}" for x in secs])
        with secs[0], secs[1], secs[2]:
            for zone in names:
                for x in secs:
                    x.wait_serial(zone, live.serial(zone))
            # ensign counts a transfer once its last message is written, which may be just
            # after the secondary serves the zone.
            deadline = time.monotonic() + 30
            while True:
                first = live.metrics()
                axfr0 = livelib.metric(first, "ensign_xfr_total", type="axfr")
                if axfr0 >= len(secs) * len(ZONES) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert axfr0 == len(secs) * len(ZONES), first
            ixfr0 = livelib.metric(first, "ensign_xfr_total", type="ixfr")

            models = {z: Model(z) for z in names}
            gens = {z: Generator(models[z], rng) for z in names}
            serial = {}
            for i in range(CHANGES):
                zone = names[i % len(names)]
                changes = gens[zone].patch(rng.randint(1, 3))
                r = live.patch(zone, changes)
                assert r.status_code == 204, (changes, r.text)
                serial[zone] = int(r.headers["X-PDNS-New-Serial"])

            for zone in names:
                live.wait_serial(zone, serial[zone])
                for x in secs:
                    x.wait_serial(zone, serial[zone])
                want = xfrlib.text_lines(live.export(zone), zone)
                for x in secs:
                    got = x.axfr(zone)
                    assert got == want, (x.name, zone, sorted(set(got) ^ set(want))[:20])
                    livelib.verify("\n".join(got) + "\n", zone, tmp_path, f"{x.name}-{zone}")

            # Every transfer after the first ones was incremental: no IXFR was answered with
            # the whole zone, and no AXFR was asked for, but by NSD when its reload lost a race
            # with a stream of updates (it logs "update failed, restarting transfer").
            last = live.metrics()
            assert livelib.metric(last, "ensign_xfr_total", type="ixfr-full") == 0
            assert livelib.metric(last, "ensign_xfr_total", type="ixfr") > ixfr0
            restarts = secs[0].log().count("restarting transfer")
            assert axfr0 <= livelib.metric(last, "ensign_xfr_total", type="axfr") \
                <= axfr0 + restarts
            assert secs[1].log().count("AXFR, incoming") == 2 * len(ZONES), secs[1].log()
            assert "IXFR, incoming" in secs[1].log(), secs[1].log()[-3000:]
            assert livelib.metric(last, "ensign_notify_answered_total",
                                  result="acknowledged") > 0

            # The zone's status: the three secondaries, at the final serial.
            for zone in names:
                r = live.req("GET", f"{livelib.ZONES}/{zone}", params={"rrsets": "false"})
                assert r.status_code == 200, r.text
                seen = {e["address"]: e for e in r.json()["secondaries"]}
                assert set(seen) >= {x.addr for x in secs}, seen
                for x in secs:
                    assert seen[x.addr]["lastSeen"].endswith("Z"), seen
                    assert livelib.serial_ge(seen[x.addr]["serial"], serial[zone]), seen
                    assert livelib.metric(last, "ensign_secondary_serial", zone=zone,
                                          address=x.addr) > 0

            # A validating resolver through each secondary.
            anchors = [a for z in names for a in ds_anchor(live, z)]
            for x in secs:
                stubs = [(z, x.port, x.addr) for z in names]
                with servelib.Unbound(stubs, anchors, str(tmp_path / f"unbound-{x.name}")) as ub:
                    for zone in names:
                        data = sorted(k for k in models[zone].rr
                                      if k[1] in ("A", "AAAA", "TXT")
                                      and not models[zone].below_cut(k[0])
                                      and k[0] not in models[zone].cuts()
                                      and not k[0].startswith("*"))
                        for name, rtype in [(zone, "SOA")] + data[:3]:
                            a = ub.query(name, rtype)
                            assert a.rcode() == dns.rcode.NOERROR and a.flags & dns.flags.AD, \
                                (x.name, name, rtype, a.to_text(), ub.log()[-2000:])
                        a = ub.query(f"never-made.{zone}", "A")
                        assert a.rcode() == dns.rcode.NXDOMAIN and a.flags & dns.flags.AD, \
                            (x.name, a.to_text())
