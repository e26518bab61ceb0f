"""Game day, end to end. A local root zone, signed offline by `ensign sign` (its DS is the trust
anchor of a validating Unbound), is served on 127.0.0.2 and delegates parent. to a first
`ensign serve` on 127.0.0.1 with the same port; parent. is signed with one CSK and no policy, so
nothing in it changes by itself. Child zones delegated from it are served by a second `ensign
serve` whose key manager runs them with second-scale policies (TTLs of 2 s, lifetimes of tens of
seconds) and finds their parent's servers by itself, iteratively from the local root
(--root-hints, --query-port). The test plays the registrar: it reads each child's CDS RRset every
0.5 s and makes the parent's DS RRset that set (or deletes it for the RFC 8078 delete form).
Unbound (caching, stub zones for the root, the parent and the children) is asked a fixed set of
names every 200 ms during the whole run: not one SERVFAIL, and the answers of the secure zones
carry the AD bit from the moment they became secure.

test_gameday_rollovers runs, in parallel on four child zones:
  kz.parent.   KSK+ZSK (ECDSA P-256): a ZSK rollover (pre-publication) and a KSK rollover
               (double KSK, CDS -> DS swap by the registrar, old KSK removed);
  csk.parent.  CSK: a CSK rollover with its DS swap;
  alg.parent.  KSK+ZSK, RSASHA256 (8), then the policy is changed to ECDSAP256SHA256 (13): an
               algorithm rollover until only algorithm 13 is left, in the DNSKEY RRset, the
               signatures and the parent's DS;
  dis.parent.  a safe disable (202, delete CDS, the registrar removes the DS, the zone ends
               unsigned and resolves insecure) and a re-enable (the DS comes back, AD again).

test_gameday_unsafe_steps_refused tries, with the DS at the parent, the steps that would make a
zone bogus: deleting the KSK, deleting or deactivating the last active ZSK, deactivating the
KSK (also once a second, just-published KSK signs beside it: that activation only adds
signatures and is allowed); each is refused with 409 and the reason and safe order, and the zone
still validates after each (here the parent's servers are configured: parentServers). Turning
DNSSEC off takes the safe path (202, not an immediate unsign). Last, on a throwaway zone,
?force=true gets a refused step done (but never one that leaves a signed zone without a key
that signs), and the audit log shows it as forced."""
import concurrent.futures
import os
import threading
import json
import time

import dns.flags
import dns.rcode

import gamedaylib as gd
import servelib

PARENT = "parent."
ROLL_WAIT = 150  # seconds any single rollover may take before the test gives up


def started(tmp_path, name, port=None, extra=()):
    d = tmp_path / name
    os.makedirs(d, exist_ok=True)
    return servelib.ApiServer(str(d), gd.KEY, port=port, extra=extra)


class Servers:
    """The parent's ensign on a port P free on 127.0.0.1 and 127.0.0.2, then (once the parent
    has its DS) the root on 127.0.0.2:P, and the children's ensign looking parents up from
    there. Entered and left as one."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.port = servelib.free_port("127.0.0.1", gd.ROOT_ADDR)
        self.parent = started(tmp_path, "parent", port=self.port)
        self.child = started(tmp_path, "child", extra=[
            "--root-hints", f"{gd.ROOT_ADDR}:{self.port}", "--query-port", str(self.port)])
        self.root = None
        self.up = []

    def __enter__(self):
        self.up.append(self.parent.__enter__())
        self.up.append(self.child.__enter__())
        return self

    def start_root(self, parent_ds):
        self.root = gd.Root(str(self.tmp_path / "root"), self.port, PARENT, parent_ds)
        self.up.append(self.root.__enter__())
        return self.root.anchors

    def stubs(self, children):
        return [(".", self.port, gd.ROOT_ADDR), (PARENT, self.port)] + \
            [(z, self.child.port) for z in children]

    def __exit__(self, *exc):
        errors = []
        for s in reversed(self.up):
            try:
                s.__exit__(*exc)
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)


def names_of(zone):
    return [(zone, "SOA"), (f"www.{zone}", "A"), (f"nx.{zone}", "A")]


class Game:
    """The servers, the registrar and the resolver loop of one run."""

    def __init__(self, parent_srv, child_srv, children, tmp_path):
        self.parent = gd.Api(parent_srv)
        self.child_srv = child_srv
        self.children = list(children)
        self.tmp_path = tmp_path
        self.t0 = time.monotonic()
        self.findings = []  # server misbehaviour that does not stop the scenario

    def child(self):
        """A fresh API client for the child server (one per thread)."""
        return gd.Api(self.child_srv)

    def setup_parent(self, servers):
        """The parent zone signed, its DS in the root, the root started: the trust anchors."""
        self.parent.create_zone(PARENT, gd.parent_text(PARENT, self.children))
        r = self.parent.ok("PUT", f"{gd.ZONES}/{PARENT}/dnssec",
                           json={"enabled": True, "scheme": "csk"})
        st = r.json()
        recs = [d["record"] for d in st["dsRecords"] if d["digestType"] == 2]
        assert recs, f"the parent zone has no DS to put in the root: {st}"
        return servers.start_root(recs)

    def enable(self, api, zone, policy, configured=False):
        """DNSSEC on with policy; the parent's servers configured, or (by default) left for
        the key manager to look up from the root."""
        body = {"enabled": True, "policy": policy}
        if configured:
            body["parentServers"] = [f"127.0.0.1:{self.parent.port}"]
        r = api.ok("PUT", f"{gd.ZONES}/{zone}/dnssec", json=body)
        st = r.json()
        assert st["enabled"] is True and st["lastSignError"] is None, st
        return st

    def elapsed(self):
        return f"+{time.monotonic() - self.t0:.1f}s"

    # --- the state of a zone, from the API and from the servers themselves ------------------

    def show(self, api, zone):
        def text():
            try:
                st = gd.brief(api.status(zone))
            except Exception as e:
                st = repr(e)
            try:
                served = sorted(gd.served_dnskeys(self.child_srv.port, zone))
                ds = sorted(gd.parent_ds(self.parent.port, zone))
            except Exception as e:
                served = ds = repr(e)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            return (f"{self.elapsed()} ({now}) {zone}: status {st}\n  served DNSKEY (tag, alg, "
                    f"flags) {served}\n  parent DS {ds}\n  CDS announced "
                    f"{self.registrar.seen(zone)}\n  key manager history:\n"
                    f"{self.watcher.text(zone, 15)}")
        return text

    def secure(self, api, zone, alg=None):
        """The parent has only DS of the zone's active SEP keys, the key manager took note of
        it (dsDelegated, and it waits for no DS), and Unbound validates www: the DS set as
        {(tag, algorithm)}, else None."""
        st = api.status(zone)
        seps = {(k["keyTag"], k["algorithm"]) for k in st["keys"]
                if k["keyRole"] in ("ksk", "csk") and k["active"]}
        ds = gd.parent_ds(self.parent.port, zone)
        if not (st["enabled"] and st["dsDelegated"] and ds and ds <= seps):
            return None
        if (st["rollover"] or {}).get("waitingOn") in ("awaiting-ds", "awaiting-ds-removal"):
            return None  # the key manager has not taken note of the parent yet
        if alg is not None and {a for _, a in ds} != {alg}:
            return None
        r = self.ub.query(f"www.{zone}", "A")
        if r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AD:
            return None
        return ds

    def wait_secure(self, api, zone, timeout, what, show, alg=None):
        return self.wait_roll(api, zone, lambda: self.secure(api, zone, alg), timeout, what, show)

    def wait_roll(self, api, zone, cond, timeout, what, show, stall=15):
        """Waits for cond (bounded). While waiting, watches for the key manager waiting for a
        DS change at the parent that the parent already shows (the registrar did its part):
        after `stall` seconds of that, records a finding and asks for a DS probe at once
        (POST .../check-ds), so that the rest of the scenario still runs."""
        deadline = time.monotonic() + timeout
        stuck_since = None
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what}: not within {timeout} s\n{show()}")
            st = api.status(zone)
            waiting = (st.get("rollover") or {}).get("waitingOn") or ""
            announced = self.registrar.seen(zone)
            ds = gd.parent_ds(self.parent.port, zone)
            want = set()
            if announced and not any(c.startswith("0 0 0") for c in announced[-1]):
                want = {(int(c.split()[0]), int(c.split()[1])) for c in announced[-1]}
            if waiting.startswith("awaiting-ds") and announced and ds == want:
                stuck_since = stuck_since or time.monotonic()
                if time.monotonic() - stuck_since > stall:
                    self.findings.append(
                        f"{self.elapsed()} {zone}: the key manager waits for the parent "
                        f"('{waiting}') although the parent has served DS {sorted(ds)} for "
                        f"{stall} s: no DS probe comes (nextDsProbeAt "
                        f"{st.get('nextDsProbeAt')}); went on after POST .../check-ds")
                    api.ok("POST", f"{gd.ZONES}/{zone}/dnssec/check-ds")
                    stuck_since = None
            else:
                stuck_since = None
            time.sleep(0.5)

    def roles(self, api, zone, role):
        """The tags of the active keys of role in the status."""
        return {k["keyTag"] for k in api.status(zone)["keys"]
                if k["keyRole"] == role and k["active"]}


# --- the scenarios, one per child zone, run in parallel ----------------------------------------

def scenario_kz(g, zone):
    api = g.child()
    show = g.show(api, zone)
    g.wait_secure(api, zone, 60, f"{zone} secure at the start", show)
    ksk0 = g.roles(api, zone, "ksk")
    zsk0 = g.roles(api, zone, "zsk")
    assert len(ksk0) == 1 and len(zsk0) == 1, show()
    (k0,), (z0,) = ksk0, zsk0
    def zsk_rolled():
        s = api.status(zone)
        served = gd.served_dnskeys(g.child_srv.port, zone)
        zsks = {t for t, _, f in served if f == 256}
        active = {k["keyTag"] for k in s["keys"] if k["keyRole"] == "zsk" and k["active"]}
        return z0 not in zsks and active and z0 not in active and active <= zsks

    g.wait_roll(api, zone, zsk_rolled, ROLL_WAIT,
                f"{zone}: ZSK {z0} rolled to a new ZSK and removed", show)
    kinds = g.watcher.kinds(zone)
    assert "zsk" in kinds, f"{zone}: the status never showed a ZSK rollover (saw {kinds}); {show()}"
    print(f"{g.elapsed()} {zone}: ZSK {z0} rolled over")

    def ksk_rolled():
        s = api.status(zone)
        seps = {t for t, _, f in gd.served_dnskeys(g.child_srv.port, zone) if f == 257}
        ds = gd.parent_ds(g.parent.port, zone)
        return len(seps) == 1 and k0 not in seps and ds == {(t, 13) for t in seps} and \
            s["dsDelegated"]

    g.wait_roll(api, zone, ksk_rolled, ROLL_WAIT, f"{zone}: KSK {k0} rolled to a new KSK (DS "
                "swapped, old KSK removed)", show)
    kinds = g.watcher.kinds(zone)
    assert "ksk" in kinds, f"{zone}: the status never showed a KSK rollover (saw {kinds}); {show()}"
    (k1,) = {t for t, _, f in gd.served_dnskeys(g.child_srv.port, zone) if f == 257}
    announced = g.registrar.seen(zone)
    assert any(any(c.startswith(f"{k1} 13 ") for c in a) for a in announced), \
        f"{zone}: the DS of KSK {k1} was never announced by CDS: {announced}"
    g.wait_secure(api, zone, 30, f"{zone} secure after the KSK rollover", show)
    print(f"{g.elapsed()} {zone}: KSK {k0} -> {k1} rolled over")


def scenario_csk(g, zone):
    api = g.child()
    show = g.show(api, zone)
    g.wait_secure(api, zone, 60, f"{zone} secure at the start", show)
    csk0 = g.roles(api, zone, "csk")
    assert len(csk0) == 1, show()
    (c0,) = csk0
    def rolled():
        s = api.status(zone)
        served = gd.served_dnskeys(g.child_srv.port, zone)
        ds = gd.parent_ds(g.parent.port, zone)
        tags = {t for t, _, _ in served}
        return len(tags) == 1 and c0 not in tags and ds == {(t, 13) for t in tags} and \
            s["dsDelegated"]

    g.wait_roll(api, zone, rolled, ROLL_WAIT,
                f"{zone}: CSK {c0} rolled over (DS swapped, old CSK gone)", show)
    kinds = g.watcher.kinds(zone)
    assert "csk" in kinds, f"{zone}: the status never showed a CSK rollover (saw {kinds}); {show()}"
    g.wait_secure(api, zone, 30, f"{zone} secure after the CSK rollover", show)
    print(f"{g.elapsed()} {zone}: CSK {c0} rolled over")


def scenario_alg(g, zone, policy):
    api = g.child()
    show = g.show(api, zone)
    g.wait_secure(api, zone, 90, f"{zone} secure with RSASHA256", show, alg=8)
    assert {a for _, a, _ in gd.served_dnskeys(g.child_srv.port, zone)} == {8}, show()
    r = api.ok("PUT", f"{gd.POLICIES}/{policy}", json={"algorithm": "ECDSAP256SHA256"})
    assert r.json()["algorithm"] == "ECDSAP256SHA256", r.text
    changed = time.monotonic()

    def started_alg():  # keys of the new algorithm exist (the status alone only plans)
        return any(k["algorithm"] == "ECDSAP256SHA256" for k in api.cryptokeys(zone))

    try:
        gd.wait_for(started_alg, 20, "", every=0.5)
    except AssertionError:
        g.findings.append(
            f"{zone}: the policy's algorithm changed to 13 but the key manager did nothing for "
            f"{time.monotonic() - changed:.0f} s (status: {gd.brief(api.status(zone))}); a "
            "policy change does not wake the zones using it, which wait for their next planned "
            "event (up to an hour when idle). Nudged with POST .../dnssec/check-ds to go on.")
        api.ok("POST", f"{gd.ZONES}/{zone}/dnssec/check-ds")
        gd.wait_for(started_alg, 20, f"{zone}: algorithm rollover started after check-ds", show)
    print(f"{g.elapsed()} {zone}: algorithm rollover 8 -> 13 started")

    def done():
        s = api.status(zone)
        served = gd.served_dnskeys(g.child_srv.port, zone)
        ds = gd.parent_ds(g.parent.port, zone)
        sigs = gd.served_rrsig_algs(g.child_srv.port, f"www.{zone}", "A")
        return ({a for _, a, _ in served} == {13} and ds and {a for _, a in ds} == {13}
                and sigs == {13} and s["dsDelegated"]
                and all(k["algorithm"] == "ECDSAP256SHA256" for k in api.cryptokeys(zone)))

    g.wait_roll(api, zone, done, ROLL_WAIT, f"{zone}: only algorithm 13 left (DNSKEY, RRSIG, "
                "parent DS, keystore)", show)
    g.wait_secure(api, zone, 30, f"{zone} secure with algorithm 13", show, alg=13)
    print(f"{g.elapsed()} {zone}: algorithm rollover 8 -> 13 done")


def scenario_dis(g, zone, policy):
    api = g.child()
    show = g.show(api, zone)
    ds0 = g.wait_secure(api, zone, 60, f"{zone} secure at the start", show)
    # Safe disable: accepted, not done at once while the DS is at the parent.
    r = api.req("PUT", f"{gd.ZONES}/{zone}/dnssec", json={"enabled": False})
    assert r.status_code == 202, f"{zone}: disable with the DS at the parent: {r.status_code} " \
                                 f"{r.text}"
    body = r.json()
    assert body.get("message"), body
    assert body["enabled"] is True, f"{zone}: unsigned at once although the DS is at the " \
                                    f"parent: {body}"
    g.phases[zone]["disable"] = time.monotonic()
    assert gd.served_dnskeys(g.child_srv.port, zone), f"{zone}: DNSKEY gone at once"

    def cds_delete():
        rs = gd.rrset_of(gd.ask(g.child_srv.port, zone, "CDS"), zone, "CDS")
        return rs is not None and all(rd.algorithm == 0 for rd in rs)

    gd.wait_for(cds_delete, 30, f"{zone}: the delete CDS (RFC 8078) is published", show)
    gd.wait_for(lambda: not gd.parent_ds(g.parent.port, zone), 30,
                f"{zone}: the registrar removed the DS", show)
    gd.wait_for(lambda: any(any(c.startswith("0 0 0") for c in a)
                            for a in g.registrar.seen(zone)), 5,
                f"{zone}: the registrar took the delete CDS", show)

    def unsigned():
        s = api.status(zone)
        return not s["enabled"] and not gd.served_dnskeys(g.child_srv.port, zone)

    g.wait_roll(api, zone, unsigned, 60, f"{zone}: unsigned once the DS is gone from the parent",
                show)
    g.phases[zone]["unsigned"] = time.monotonic()
    assert not gd.served_rrsig_algs(g.child_srv.port, f"www.{zone}", "A"), show()

    def insecure():
        r = g.ub.query(f"www.{zone}", "A")
        return r.rcode() == dns.rcode.NOERROR and not r.flags & dns.flags.AD

    gd.wait_for(insecure, 15, f"{zone}: resolves insecure (no AD) once unsigned", show)
    print(f"{g.elapsed()} {zone}: disabled safely, insecure")
    time.sleep(3)
    # Re-enable: signed at once, secure once the registrar has put the new DS in the parent.
    st = g.enable(api, zone, policy)
    g.phases[zone]["reenable"] = time.monotonic()
    new = {k["keyTag"] for k in st["keys"]}
    assert new and not new & {t for t, _ in ds0}, f"{zone}: re-enabled with old keys {st}"
    ds = g.wait_secure(api, zone, 60, f"{zone}: secure again after re-enable", show)
    assert {t for t, _ in ds} <= new, show()
    g.phases[zone]["secure-again"] = time.monotonic()
    print(f"{g.elapsed()} {zone}: re-enabled, secure again")


def timeline_check(g, zone):
    """The dry run (GET .../dnssec/timeline) of a zone with second-scale lifetimes lists the
    planned ZSK and KSK successors, and answers in reasonable time: the server holds its
    control lock while it simulates, so a slow answer stalls the API and the key manager."""
    api = g.child()
    out = {}

    def ask():
        t = time.monotonic()
        try:
            out["r"] = api.req("GET", f"{gd.ZONES}/{zone}/dnssec/timeline")
        except Exception as e:
            out["e"] = e
        out["took"] = time.monotonic() - t

    th = threading.Thread(target=ask, daemon=True)
    th.start()
    th.join(10)
    if th.is_alive():
        th.join(240)  # let it finish: the server is stopped after this
        g.findings.append(
            f"GET .../zones/{zone}/dnssec/timeline took {out.get('took', 0):.0f} s (policy with "
            "zskLifetime 20 s, kskLifetime 45 s); meanwhile every other API request and the key "
            "manager wait. ens_km_timeline simulates the whole 366-day horizon (over a million "
            "rollovers) although it keeps only the first 512 events: it should stop at cap.")
    assert "e" not in out, f"timeline: {out.get('e')!r}"
    r = out["r"]
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    planned = {(e["action"], e["role"]) for e in events}
    assert ("generate", "zsk") in planned and ("generate", "ksk") in planned, \
        f"{zone}: the timeline plans no ZSK and KSK successors: {events[:20]}"


def check_answers(g, probe, zone_rules):
    """Zero SERVFAIL or unanswered queries, and per zone: the AD bit on every answer after the
    first one that had it (for zones that stay secure), or per-phase for the disabled zone."""
    t0 = g.t0
    answers = probe.snapshot()
    assert probe.rounds >= 10, f"the resolver loop ran only {probe.rounds} rounds"
    bad = probe.failures()
    if bad:
        lines = [gd.fmt_answer(a, t0) for a in bad[:40]]
        ann = [f"+{t - t0:.1f}s {z} {sorted(c)}" for t, z, c in g.registrar.announcements]
        raise AssertionError(
            f"{len(bad)} of {len(answers)} answers from Unbound were SERVFAIL or none:\n" +
            "\n".join(lines) + "\nDS changes made by the registrar:\n" + "\n".join(ann) +
            "\nUnbound log (end):\n" + g.ub.log()[-4000:])
    for zone, rule in zone_rules.items():
        mine = [a for a in answers if a[1] == zone or a[1].endswith("." + zone)]
        assert mine, f"no answers for {zone}"
        ad = [a for a in mine if a[4]]
        assert ad, f"{zone}: no answer was ever validated (AD): " + \
            "; ".join(gd.fmt_answer(a, t0) for a in mine[-10:])
        if rule == "stays-secure":
            first = ad[0][0]
            lost = [a for a in mine if a[0] > first and not a[4]]
            assert not lost, f"{zone}: answers without AD after it became secure: " + \
                "; ".join(gd.fmt_answer(a, t0) for a in lost[:20])
        elif rule == "disable-reenable":
            ph = g.phases[zone]
            before = [a for a in mine if ad[0][0] < a[0] < ph["disable"] and not a[4]]
            assert not before, f"{zone}: lost AD before the disable: " + \
                "; ".join(gd.fmt_answer(a, t0) for a in before[:20])
            insecure = [a for a in mine if ph["unsigned"] < a[0] < ph["reenable"]]
            assert insecure and not any(a[4] for a in insecure), \
                f"{zone}: not insecure while unsigned: " + \
                "; ".join(gd.fmt_answer(a, t0) for a in insecure[:20])
            after = [a for a in mine if a[0] > ph["secure-again"]]
            assert after and all(a[4] for a in after), \
                f"{zone}: not secure after the re-enable: " + \
                "; ".join(gd.fmt_answer(a, t0) for a in after[:20])
    text = g.ub.log()
    assert "validation failure" not in text, text[-4000:]


def run_parallel(jobs):
    """Runs the scenarios in threads; every failure is reported, not only the first."""
    errors = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as ex:
        futs = {ex.submit(fn, *args): name for name, fn, args in jobs}
        for f in concurrent.futures.as_completed(futs):
            e = f.exception()
            if e is not None:
                errors.append(f"[{futs[f]}] {type(e).__name__}: {e}")
    return errors


class Running:
    """Registrar and resolver loop started and always stopped."""

    def __init__(self, g, probe_names):
        self.g = g
        self.names = probe_names

    def __enter__(self):
        g = self.g
        g.registrar = gd.Registrar(g.parent, g.child_srv.port, g.children, PARENT)
        g.registrar.start()
        g.watcher = gd.Watcher(g.child_srv, g.children, g.t0)
        g.watcher.start()
        g.probe = gd.Probe(g.ub, self.names)
        g.probe.start()
        return g

    def __exit__(self, *exc):
        self.g.probe.stop()
        self.g.registrar.stop()
        self.g.watcher.stop()
        with open(os.path.join(str(self.g.tmp_path), "key-manager-history.txt"), "w") as f:
            f.write(self.g.watcher.text(None, 100000) + "\n")


def test_gameday_rollovers(tmp_path):
    kz, csk, alg, dis = (f"{n}.{PARENT}" for n in ("kz", "csk", "alg", "dis"))
    children = [kz, csk, alg, dis]
    with Servers(tmp_path) as servers:
        psrv, csrv = servers.parent, servers.child
        g = Game(psrv, csrv, children, tmp_path)
        anchors = g.setup_parent(servers)
        api = g.child()
        api.create_policy("gd-kz", algorithm="ecdsa-p256", scheme="ksk-zsk", zskLifetime=20,
                          kskLifetime=45, cskLifetime=0)
        api.create_policy("gd-csk", algorithm="ecdsa-p256", scheme="csk", cskLifetime=40,
                          kskLifetime=0, zskLifetime=0)
        api.create_policy("gd-alg", algorithm="rsa-2048", scheme="ksk-zsk", kskLifetime=0,
                          zskLifetime=0, cskLifetime=0)
        api.create_policy("gd-dis", algorithm="ecdsa-p256", scheme="csk", kskLifetime=0,
                          zskLifetime=0, cskLifetime=0)
        policy = {kz: "gd-kz", csk: "gd-csk", alg: "gd-alg", dis: "gd-dis"}
        for i, z in enumerate(children):
            api.create_zone(z, gd.child_text(z, f"192.0.2.{10 + i}"))
        stubs = servers.stubs(children)
        probe_names = [(f"www.{PARENT}", "A"), (f"nx.{PARENT}", "A")]
        for z in children:
            probe_names += names_of(z)
        with servelib.Unbound(stubs, anchors, str(tmp_path / "unbound")) as ub:
            g.ub = ub
            g.phases = {dis: {}}
            with Running(g, probe_names):
                g.t0 = time.monotonic()
                for z in children:
                    g.enable(api, z, policy[z])
                errors = run_parallel([
                    ("zsk+ksk", scenario_kz, (g, kz)),
                    ("csk", scenario_csk, (g, csk)),
                    ("algorithm", scenario_alg, (g, alg, "gd-alg")),
                    ("disable", scenario_dis, (g, dis, "gd-dis")),
                ])
                time.sleep(2)
            timeline_check(g, kz)
            for z in children:  # every parent was found from the root, none configured
                lk = api.status(z)["parentLookup"]
                assert lk == {"zone": PARENT, "servers": [f"127.0.0.1:{psrv.port}"],
                              "error": None}, f"{z}: {lk}"
            print(f"{g.elapsed()} resolver loop: {g.probe.rounds} rounds, "
                  f"{len(g.probe.snapshot())} answers; registrar: "
                  f"{len(g.registrar.announcements)} DS changes")
            assert not errors, "\n\n".join(errors) + "\nAPI status reads that failed or " \
                "were slow: " + "\n".join(g.watcher.errors[:20])
            assert not g.registrar.errors, g.registrar.errors
            check_answers(g, g.probe, {f"www.{PARENT}": "stays-secure", kz: "stays-secure",
                                       csk: "stays-secure", alg: "stays-secure",
                                       dis: "disable-reenable"})
        assert not g.findings, "server bugs found on the way:\n" + "\n".join(g.findings)


# --- unsafe steps ------------------------------------------------------------------------------

def refused(r, what, reason_has=None):
    """A 409 in the shape of an unsafe-step refusal: error, code, reason, safeOrder."""
    assert r.status_code == 409, f"{what}: {r.status_code} {r.text}"
    body = r.json()
    assert body.get("code") == "unsafe-step", f"{what}: {body}"
    assert isinstance(body.get("error"), str) and body["error"], f"{what}: {body}"
    assert isinstance(body.get("reason"), str) and body["reason"], f"{what}: {body}"
    steps = body.get("safeOrder")
    assert isinstance(steps, list) and steps and all(isinstance(s, str) and s for s in steps), \
        f"{what}: {body}"
    if reason_has:
        alts = (reason_has,) if isinstance(reason_has, str) else reason_has
        assert any(a in body["reason"] for a in alts), f"{what}: reason {body['reason']!r}"
    return body


def test_gameday_unsafe_steps_refused(tmp_path):
    safe, throw = f"safe.{PARENT}", f"throw.{PARENT}"
    children = [safe, throw]
    with Servers(tmp_path) as servers:
        psrv, csrv = servers.parent, servers.child
        g = Game(psrv, csrv, children, tmp_path)
        anchors = g.setup_parent(servers)
        api = g.child()
        api.create_policy("still", algorithm="ecdsa-p256", scheme="ksk-zsk", kskLifetime=0,
                          zskLifetime=0, cskLifetime=0)
        api.create_policy("still-csk", algorithm="ecdsa-p256", scheme="csk", kskLifetime=0,
                          zskLifetime=0, cskLifetime=0)
        for i, z in enumerate(children):
            api.create_zone(z, gd.child_text(z, f"192.0.2.{30 + i}"))
        stubs = servers.stubs(children)
        # The throwaway zone is made bogus on purpose at the end: it is not in the loop.
        probe_names = [(f"www.{PARENT}", "A")] + names_of(safe)
        with servelib.Unbound(stubs, anchors, str(tmp_path / "unbound")) as ub:
            g.ub = ub
            with Running(g, probe_names):
                g.t0 = time.monotonic()
                g.enable(api, safe, "still", configured=True)
                g.enable(api, throw, "still-csk", configured=True)
                for z in children:
                    g.wait_secure(api, z, 60, f"{z} secure", g.show(api, z))
                keys = api.cryptokeys(safe)
                ksk = [k for k in keys if k["keytype"] == "ksk" and k["active"]]
                zsk = [k for k in keys if k["keytype"] == "zsk" and k["active"]]
                assert len(ksk) == 1 and len(zsk) == 1, keys
                ksk, zsk = ksk[0], zsk[0]
                base = f"{gd.ZONES}/{safe}/cryptokeys"
                show = g.show(api, safe)

                def still_valid(after, disabling=False):
                    if disabling:  # the DS stays until the registrar takes the delete CDS
                        r = ub.query(f"www.{safe}", "A")
                        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD, \
                            f"{safe} not secure after {after}: {r}\n{show()}"
                    else:
                        assert g.secure(api, safe), f"{safe} not secure after {after}: {show()}"
                    served = gd.served_dnskeys(csrv.port, safe)
                    assert {ksk["keyTag"], zsk["keyTag"]} <= {t for t, _, _ in served}, \
                        f"after {after}: {show()}"

                # 1. Deleting the KSK whose DS is at the parent.
                body = refused(api.req("DELETE", f"{base}/{ksk['id']}"), "delete the KSK",
                               reason_has=(f"DS {ksk['keyTag']} 13 2", "still published", "last active ksk"))
                assert any("parent" in s for s in body["safeOrder"]), body
                still_valid("the KSK delete")
                # 2. Deleting the only ZSK.
                refused(api.req("DELETE", f"{base}/{zsk['id']}"), "delete the only ZSK")
                still_valid("the ZSK delete")
                # 3. Deactivating the last active ZSK.
                refused(api.req("PUT", f"{base}/{zsk['id']}", json={"active": False}),
                        "deactivate the last active ZSK")
                still_valid("the ZSK deactivation")
                # 4. Deactivating the KSK, the only one the parent's DS vouches for.
                refused(api.req("PUT", f"{base}/{ksk['id']}", json={"active": False}),
                        "deactivate the KSK")
                still_valid("the KSK deactivation")
                # 5. Activating a KSK published a moment ago beside the one the DS points to:
                # it only adds signatures (RFC 7583 §3.3.1 signs with the new KSK from its
                # publication), so it is allowed and the zone stays secure; deactivating the
                # old KSK, the one the parent's DS vouches for, is still refused.
                r = api.ok("POST", base, want=(201,),
                           json={"keytype": "ksk", "algorithm": "ecdsa-p256", "active": False,
                                 "published": True})
                new = r.json()
                api.ok("PUT", f"{base}/{new['id']}", want=(204,), json={"active": True})
                still_valid("the early activation beside the current KSK", disabling=True)
                refused(api.req("PUT", f"{base}/{ksk['id']}", json={"active": False}),
                        "deactivate the KSK the DS points to")
                # ... and the extra KSK stops signing again (the key manager cleans it up), once
                # the parent DS TTL has passed since the old DS was first seen there
                deadline = time.monotonic() + 20
                while True:
                    r = api.req("PUT", f"{base}/{new['id']}", json={"active": False})
                    if r.status_code == 204 or time.monotonic() > deadline:
                        break
                    refused(r, "deactivate the extra KSK before the DS is settled")
                    time.sleep(0.5)
                assert r.status_code == 204, r.text
                still_valid("the extra KSK's deactivation", disabling=True)
                # 6. Turning DNSSEC off: the safe path, not an immediate unsign.
                r = api.req("PUT", f"{gd.ZONES}/{safe}/dnssec", json={"enabled": False})
                assert r.status_code == 202, f"disable: {r.status_code} {r.text}"
                assert r.json()["enabled"] is True and r.json().get("message"), r.text
                still_valid("the disable request", disabling=True)
                # ... which ends with an unsigned zone that resolves insecure.
                g.wait_roll(api, safe, lambda: not api.status(safe)["enabled"] and
                            not gd.served_dnskeys(csrv.port, safe), 60,
                            f"{safe}: unsigned by the safe path once the DS is gone", show)

                def insecure():
                    r = ub.query(f"www.{safe}", "A")
                    return r.rcode() == dns.rcode.NOERROR and not r.flags & dns.flags.AD

                gd.wait_for(insecure, 15, f"{safe} resolves insecure", show)
                # 7. The throwaway zone: refused, then forced, and audited as forced.
                tk = [k for k in api.cryptokeys(throw) if k["keytype"] == "csk" and k["active"]]
                assert len(tk) == 1, api.cryptokeys(throw)
                tbase = f"{gd.ZONES}/{throw}/cryptokeys/{tk[0]['id']}"
                refused(api.req("DELETE", tbase), "delete the CSK")
                # force never leaves a signed zone without a key that signs
                r = api.req("DELETE", tbase, params={"force": "true"})
                assert r.status_code == 409 and "without a published, active key" in r.text, \
                    r.text
                # with a second CSK signing, the premature delete is done when forced
                api.ok("POST", f"{gd.ZONES}/{throw}/cryptokeys", want=(201,),
                       json={"keytype": "csk", "algorithm": "ecdsa-p256", "active": True,
                             "published": True})
                refused(api.req("DELETE", tbase), "delete the first CSK")
                api.ok("DELETE", tbase, params={"force": "true"}, want=(204,))
                assert not any(k["id"] == tk[0]["id"] for k in api.cryptokeys(throw))
                entries = [e for e in api.audit() if e.get("action") == "key.delete"
                           and (e.get("zone") or "").rstrip(".") == throw.rstrip(".")]
                assert entries and json.loads(entries[0].get("detail") or "{}").get("forced"), \
                    f"the forced delete is not audited as forced: {api.audit()[:10]}"
                time.sleep(1)
            assert not g.registrar.errors, g.registrar.errors
            check_answers(g, g.probe, {f"www.{PARENT}": "stays-secure"})
            # The safe zone: secure until the disable, insecure (never bogus) after.
            mine = g.probe.of(f"www.{safe}", "A")
            assert any(a[4] for a in mine), "www.safe never validated"
        assert not g.findings, "server bugs found on the way:\n" + "\n".join(g.findings)
