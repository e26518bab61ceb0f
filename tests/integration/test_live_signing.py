"""Signing as records change: seeded random batches of PATCHes (adds, deletes, replaces, EXTEND and
PRUNE of A/AAAA/TXT/MX; names that make and remove empty non-terminals; wildcards; delegations
with and without DS, added and removed again, some above existing names, which they occlude) on
an NSEC zone (CSK), an NSEC3 zone (KSK+ZSK) and an NSEC3 opt-out zone. After every batch the
exported served zone passes BIND's dnssec-verify and ldns-verify-zone, holds exactly the data
the batches left, and has the same records and the same signature set (owner, covered type, key
tag...) as a full re-sign of that data by `ensign sign` with the zone's keys; the SOA serial
moved on; the DNS answers for the touched names are those of the data. At the end the server's
own whole-zone rebuild (rectify) gives the same zone again. LIVE_SEED=N repeats a run (the seed
is printed).

Then a validating Unbound (trust anchor: the zone's DS from the API) resolves names right after
they change: new names, a replaced RRset, a name in a new empty non-terminal, a new wildcard, a
removed name (NXDOMAIN), the DS of a new insecure delegation (NODATA): all with the AD bit."""
import os
import random
import time

import dns.flags
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

import livelib
import servelib

BATCHES = 20
DATA_TYPES = ["A", "AAAA", "TXT", "MX"]


def seed():
    s = os.environ.get("LIVE_SEED")
    return int(s) if s else random.SystemRandom().randrange(2 ** 32)


def canon(rtype, content):
    return rtext(dns.rdata.from_text(dns.rdataclass.IN, rtype, content, origin=dns.name.root))


def rtext(rd):
    """Rdata as text with absolute names, the form every comparison here uses."""
    return rd.to_text(origin=dns.name.root, relativize=False)


class Model:
    """The zone's data below the apex as the test believes it: {(owner, type): (ttl, {rdata})},
    owners absolute and lower case, rdata in dnspython's canonical text."""

    def __init__(self, origin):
        self.origin = origin
        self.rr = {(f"ns1.{origin}", "A"): (3600, {canon("A", "192.0.2.53")})}

    def n(self, rel):
        return f"{rel}.{self.origin}"

    def exists(self, name):
        return any(o == name or o.endswith("." + name) for o, _ in self.rr) or name == self.origin

    def cuts(self):
        return {o for o, t in self.rr if t == "NS"}

    def below_cut(self, name):
        return any(name.endswith("." + c) for c in self.cuts())

    def apply(self, change):
        key = (change["name"], change["type"])
        ct = change["changetype"]
        recs = {canon(change["type"], r["content"]) for r in change.get("records", [])}
        if ct == "DELETE":
            self.rr.pop(key, None)
        elif ct == "REPLACE":
            self.rr[key] = (change["ttl"], recs)
        elif ct == "EXTEND":
            ttl, old = self.rr.get(key, (change["ttl"], set()))
            self.rr[key] = (change["ttl"], old | recs)
        elif ct == "PRUNE":
            ttl, old = self.rr[key]
            left = old - recs
            if left:
                self.rr[key] = (ttl, left)
            else:
                del self.rr[key]

    def expected(self, name, rtype):
        """What an authoritative answer for (name, rtype) must hold: ("skip",) below a cut,
        ("referral",) at a cut for other types than DS, ("data", owner, ttl, set) or
        ("nodata",) or ("nxdomain",)."""
        if self.below_cut(name):
            return ("skip",)
        if name in self.cuts() and rtype != "DS":
            return ("referral",)
        if (name, rtype) in self.rr:
            ttl, rds = self.rr[(name, rtype)]
            return ("data", name, ttl, rds)
        if self.exists(name):
            return ("nodata",)
        labels = name.split(".")
        for i in range(1, len(labels)):
            ce = ".".join(labels[i:])
            if self.exists(ce):
                src = "*." + ce
                if not self.exists(src):
                    return ("nxdomain",)
                if (src, rtype) in self.rr:
                    ttl, rds = self.rr[(src, rtype)]
                    return ("data", name, ttl, rds)
                return ("nodata",)
        return ("nxdomain",)


class Generator:
    """Random changes against a Model. Names come from pools chosen so that the zone keeps
    every kind of node: plain names, names deep enough to make empty non-terminals, wildcards
    with and without explicit siblings, and delegations (glue below the cut, DS or not)."""

    def __init__(self, model, rng):
        self.m = model
        self.rng = rng
        self.plain = [model.n(f"h{i}") for i in range(14)]
        self.deep = [model.n(x) for x in ("a.b.c", "q.a.b.c", "x.y", "deep.e1.f", "z.e1.f",
                                          "m.n.o.p")]
        self.wild = [model.n(x) for x in ("*.w", "*.v.ent2", "*.c")]
        self.under_wild = [model.n(x) for x in ("x.w", "y.v.ent2", "k.c", "w")]
        # The last two are above data names: a cut there occludes what is below it.
        self.cuts = [model.n(x) for x in ("sub1", "sub2", "sub3", "d.deep2", "e.deep2", "e1.f",
                                          "n.o.p")]
        self.counter = 0

    def content(self, rtype):
        r = self.rng
        self.counter += 1
        if rtype == "A":
            return f"192.0.2.{r.randint(1, 254)}"
        if rtype == "AAAA":
            return f"2001:db8::{r.randint(1, 0xffff):x}"
        if rtype == "TXT":
            return f'"t{self.counter} {r.randint(0, 10 ** 6)}"'
        return f"{r.randint(0, 50)} mx{r.randint(0, 9)}.example.net."

    def records(self, rtype, k=None):
        k = k or self.rng.randint(1, 3)
        seen, out = set(), []
        for _ in range(k * 3):
            c = self.content(rtype)
            if canon(rtype, c) not in seen:
                seen.add(canon(rtype, c))
                out.append({"content": c, "disabled": False})
            if len(out) == k:
                break
        return out

    def data_names(self):
        return self.plain + self.deep + self.wild + self.under_wild

    def one(self, busy):
        """A list of changes (one or a few making a unit, such as a delegation) whose keys are
        not in busy; [] when the draw collides."""
        r, m = self.rng, self.m
        op = r.choices(["set", "delete", "extend", "prune", "ttl", "cut", "uncut", "ds", "unname"],
                       weights=[30, 20, 6, 6, 4, 8, 6, 6, 6])[0]
        existing = [k for k in m.rr if k[1] in DATA_TYPES and k[0] != m.n("ns1")
                    and not m.below_cut(k[0])]
        if op == "unname" and existing:
            # Every RRset of a name (wildcards first), so that whole names go away.
            owners = sorted({k[0] for k in existing})
            wild = [o for o in owners if o.startswith("*.")]
            name = r.choice(wild if wild and r.random() < 0.5 else owners)
            keys = [k for k in existing if k[0] == name]
            if set(keys) & busy:
                return []
            return [{"name": n, "type": t, "changetype": "DELETE", "records": []}
                    for n, t in keys]
        if op in ("set", "unname") or (op in ("delete", "extend", "prune", "ttl")
                                       and not existing):
            name = r.choice(self.data_names())
            rtype = r.choice(DATA_TYPES)
            if (name, rtype) in busy:
                return []
            return [{"name": name, "type": rtype, "ttl": r.choice([60, 300, 3600]),
                     "changetype": "REPLACE", "records": self.records(rtype)}]
        if op in ("delete", "extend", "prune", "ttl"):
            name, rtype = r.choice(existing)
            if (name, rtype) in busy:
                return []
            ttl, rds = m.rr[(name, rtype)]
            if op == "delete":
                return [{"name": name, "type": rtype, "changetype": "DELETE", "records": []}]
            if op == "extend":
                return [{"name": name, "type": rtype, "ttl": ttl, "changetype": "EXTEND",
                         "records": self.records(rtype, 1)}]
            if op == "prune":
                victim = r.choice(sorted(rds))
                return [{"name": name, "type": rtype, "changetype": "PRUNE",
                         "records": [{"content": victim}]}]
            return [{"name": name, "type": rtype, "ttl": 7200 if ttl != 7200 else 120,
                     "changetype": "REPLACE",
                     "records": [{"content": c, "disabled": False} for c in sorted(rds)]}]
        present = [c for c in self.cuts if (c, "NS") in m.rr]
        absent = [c for c in self.cuts if (c, "NS") not in m.rr]
        if op == "cut" and absent:
            cut = r.choice(absent)
            glue = "ns." + cut
            if {(cut, "NS"), (cut, "DS"), (glue, "A")} & busy:
                return []
            ns = [{"content": glue}]
            if r.random() < 0.5:
                ns.append({"content": "ns.example.net."})
            out = [{"name": cut, "type": "NS", "ttl": 3600, "changetype": "REPLACE",
                    "records": ns},
                   {"name": glue, "type": "A", "ttl": 3600, "changetype": "REPLACE",
                    "records": [{"content": self.content("A")}]}]
            if r.random() < 0.5:
                out.append(self.ds(cut))
            return out
        if op == "uncut" and present:
            cut = r.choice(present)
            glue = "ns." + cut
            if {(cut, "NS"), (cut, "DS"), (glue, "A")} & busy:
                return []
            out = [{"name": cut, "type": "NS", "changetype": "DELETE", "records": []},
                   {"name": glue, "type": "A", "changetype": "DELETE", "records": []}]
            if (cut, "DS") in m.rr:
                out.append({"name": cut, "type": "DS", "changetype": "DELETE", "records": []})
            return out
        if op == "ds" and present:
            cut = r.choice(present)
            if (cut, "DS") in busy:
                return []
            if (cut, "DS") in m.rr:
                return [{"name": cut, "type": "DS", "changetype": "DELETE", "records": []}]
            return [self.ds(cut)]
        return []

    def ds(self, cut):
        r = self.rng
        recs = [{"content": f"{r.randint(1, 65535)} 13 2 {r.getrandbits(256):064x}"}
                for _ in range(r.randint(1, 2))]
        return {"name": cut, "type": "DS", "ttl": 3600, "changetype": "REPLACE",
                "records": recs}

    def patch(self, size):
        """About size changes with distinct keys, applied to the model as generated."""
        busy, out = set(), []
        tries = 0
        while len(out) < size and tries < size * 10:
            tries += 1
            group = self.one(busy)
            for c in group:
                busy.add((c["name"], c["type"]))
            out.extend(group)
        for c in out:
            self.m.apply(c)
        return out


def shape(model):
    """The kinds of node in the model: empty non-terminals, wildcards, delegations with DS and
    delegations without."""
    owners = {o for o, _ in model.rr}
    ents = set()
    for o in owners:
        labels = o[:-len(model.origin)].rstrip(".").split(".")
        for i in range(1, len(labels)):
            parent = ".".join(labels[i:]) + "." + model.origin
            if parent not in owners:
                ents.add(parent)
    wild = {o for o in owners if o.startswith("*.")}
    cuts = model.cuts()
    signed = {c for c in cuts if (c, "DS") in model.rr}
    return {"ent": ents, "wildcard": wild, "cut with DS": signed,
            "cut without DS": cuts - signed}


def coverage(before, after, seen):
    """Records which kinds of node appeared and disappeared between two shapes."""
    for kind in before:
        if after[kind] - before[kind]:
            seen.add(kind + " made")
        if before[kind] - after[kind]:
            seen.add(kind + " removed")


ALL_EVENTS = {f"{k} {e}" for k in ("ent", "wildcard", "cut with DS", "cut without DS")
              for e in ("made", "removed")}


def served_data(text, origin):
    """{(owner, type): (ttl, {rdata text})} of the export below the apex, signer records
    left out."""
    out = {}
    origin_l = origin.lower()
    for owner, ttl, rd in livelib.records(text, origin):
        o = owner.to_text().lower()
        if o == origin_l or rd.rdtype in livelib.SIGNER_TYPES or rd.rdtype in livelib.KEY_TYPES:
            continue
        t = dns.rdatatype.to_text(rd.rdtype)
        ttl0, s = out.get((o, t), (ttl, set()))
        assert ttl0 == ttl, f"{o} {t}: records with TTLs {ttl0} and {ttl}"
        s.add(rtext(rd))
        out[(o, t)] = (ttl, s)
    return out


def check_answer(live, model, name, rtype, ctx):
    want = model.expected(name, rtype)
    if want[0] == "skip":
        return
    ans = live.query(name, rtype)
    qn = dns.name.from_text(name)
    got = [x for x in ans.answer if x.name == qn and x.rdtype == dns.rdatatype.from_text(rtype)]
    what = f"{ctx}: {name} {rtype}: want {want}, got {ans.to_text()}"
    if want[0] == "referral":
        assert ans.rcode() == dns.rcode.NOERROR and not ans.answer, what
        assert not ans.flags & dns.flags.AA, what
        assert any(x.rdtype == dns.rdatatype.NS and x.name == qn for x in ans.authority), what
        return
    if want[0] == "data":
        assert ans.rcode() == dns.rcode.NOERROR and ans.flags & dns.flags.AA, what
        assert len(got) == 1, what
        assert {rtext(rd) for rd in got[0]} == want[3], what
        assert got[0].ttl == want[2], what
        assert any(x.rdtype == dns.rdatatype.RRSIG and x.name == qn and x.covers == got[0].rdtype
                   for x in ans.answer), what
        return
    assert not got, what
    rcode = dns.rcode.NXDOMAIN if want[0] == "nxdomain" else dns.rcode.NOERROR
    assert ans.rcode() == rcode, what
    # A signed denial: NSEC or NSEC3 with their signatures in the authority section.
    types = {x.rdtype for x in ans.authority}
    assert types & {dns.rdatatype.NSEC, dns.rdatatype.NSEC3} and dns.rdatatype.RRSIG in types, what


MODES = {
    "nsec-csk": ({"denial": "nsec", "scheme": "csk"}, "nsec-live.example."),
    "nsec3-kskzsk": ({"denial": "nsec3", "scheme": "ksk+zsk", "nsec3": {"iterations": 0,
                                                                         "salt": "-"}},
                     "nsec3-live.example."),
    "nsec3-optout": ({"denial": "nsec3", "nsec3": {"optOut": True, "iterations": 1,
                                                   "salt": "c0ffee"}},
                     "optout-live.example."),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_random_batches_match_a_full_resign(tmp_path, mode):
    opts, zone = MODES[mode]
    s = seed()
    print(f"LIVE_SEED={s} mode={mode}")
    rng = random.Random(s)
    model = Model(zone)
    gen = Generator(model, rng)
    with livelib.Live(tmp_path / "srv") as live:
        live.create(zone)
        live.enable(zone, **opts)
        keydir = os.path.join(live.data, "keys")
        last = live.serial(zone)
        total = 0
        seen = set()
        for batch in range(BATCHES):
            ctx = f"seed {s} {mode} batch {batch}"
            touched = set()
            before = shape(model)
            for _ in range(rng.randint(1, 3)):
                changes = gen.patch(rng.randint(4, 12))
                if not changes:
                    continue
                total += len(changes)
                r = live.patch(zone, changes)
                assert r.status_code == 204, f"{ctx}: {r.status_code} {r.text}\n{changes}"
                live.wait_serial(zone, int(r.headers["X-PDNS-New-Serial"]))
                touched |= {(c["name"], c["type"]) for c in changes}
            coverage(before, shape(model), seen)
            serial = live.serial(zone)
            assert livelib.serial_gt(serial, last), f"{ctx}: serial {serial} after {last}"
            last = serial
            text = live.export(zone)
            # The served data is the data of the batches, nothing more, nothing less.
            got = served_data(text, zone)
            want = dict(model.rr)
            if got != want:
                bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                raise AssertionError(f"{ctx}: served data differs: " + "; ".join(
                    f"{k}: served {got.get(k)} expected {want.get(k)}" for k in bad[:10]))
            livelib.verify(text, zone, tmp_path, tag=f"{mode}-{batch}")
            again = livelib.full_resign(text, zone, keydir, tmp_path, tag=f"{mode}-{batch}")
            served, full = livelib.structure(text, zone), livelib.structure(again, zone)
            if served[0] != full[0]:
                raise AssertionError(f"{ctx}: records differ from a full re-sign\n" +
                                     livelib.diff_sets(served[0], full[0]))
            if served[1] != full[1]:
                raise AssertionError(f"{ctx}: signatures differ from a full re-sign\n" +
                                     livelib.diff_sets(served[1], full[1]))
            # The answers for what changed, and for a few names under the wildcards.
            names = touched | {(gen.m.n(f"r{batch}.w"), "A"), (gen.m.n(f"r{batch}.c"), "TXT"),
                               (gen.m.n(f"s.r{batch}.v.ent2"), "MX"), (gen.m.n("b.c"), "A"),
                               (gen.m.n("y"), "AAAA"), (gen.m.n("e1.f"), "TXT")}
            for name, rtype in sorted(names):
                check_answer(live, model, name, rtype, ctx)
        print(f"{mode}: {total} changes in {BATCHES} batches")
        # The server's own whole-zone rebuild (PowerDNS rectify) gives the same zone, but for
        # the SOA serial, which moves: every signature is new, so the served zone changed.
        text = live.export(zone)
        before = live.serial(zone)
        r = live.req("PUT", f"{livelib.ZONES}/{zone}/rectify")
        assert r.status_code == 200, r.text
        rebuilt = live.export(zone)
        assert livelib.serial_gt(live.serial(zone), before)
        livelib.verify(rebuilt, zone, tmp_path, tag=f"{mode}-rectified")
        served, full = livelib.structure(text, zone), livelib.structure(rebuilt, zone)
        served[0].difference_update({k for k in served[0] if k[1] == "SOA"})
        full[0].difference_update({k for k in full[0] if k[1] == "SOA"})
        assert served[0] == full[0], livelib.diff_sets(served[0], full[0],
                                                       names=("served", "after rectify"))
        assert served[1] == full[1], livelib.diff_sets(served[1], full[1],
                                                       names=("served", "after rectify"))
        assert total >= 150, f"only {total} changes"
        # Every kind of node came and went at least once.
        assert seen == ALL_EVENTS, f"seed {s}: never {sorted(ALL_EVENTS - seen)}"


# --- Unbound --------------------------------------------------------------------------------

def ds_anchor(live, zone):
    st = live.status(zone)
    recs = [d["record"] for d in st["dsRecords"] if d["digestType"] == 2]
    assert recs, st
    return [f"{zone} DS {r}" for r in recs]


def rr(name, rtype, contents, ttl=300):
    return {"name": name, "type": rtype, "ttl": ttl, "changetype": "REPLACE",
            "records": [{"content": c} for c in contents]}


def gone(name, rtype):
    return {"name": name, "type": rtype, "changetype": "DELETE", "records": []}


def assert_secure(ub, name, rtype, rcode, want=None, ctx=""):
    ans = ub.query(name, rtype)
    what = f"{ctx}: {name} {rtype}:\n{ans.to_text()}\n{ub.log()[-3000:]}"
    assert ans.rcode() == rcode, what
    assert ans.flags & dns.flags.AD, "no AD bit: " + what
    qn = dns.name.from_text(name)
    got = [x for x in ans.answer if x.name == qn and x.rdtype == dns.rdatatype.from_text(rtype)]
    if want is None:
        assert not got, what
    else:
        assert len(got) == 1, what
        assert {rtext(rd) for rd in got[0]} == {canon(rtype, w) for w in want}, what


@pytest.mark.parametrize("mode", ["nsec-csk", "nsec3-kskzsk"])
def test_changes_validate_in_unbound_at_once(tmp_path, mode):
    opts, zone = MODES[mode]
    with livelib.Live(tmp_path / "srv") as live:
        live.create(zone, rrsets=[rr(f"chg.{zone}", "A", ["192.0.2.1"], ttl=1),
                                  rr(f"www.{zone}", "A", ["192.0.2.2"])])
        live.enable(zone, **opts)
        with servelib.Unbound([(zone, live.port)], ds_anchor(live, zone),
                              str(tmp_path / "unbound")) as ub:
            assert_secure(ub, f"www.{zone}", "A", dns.rcode.NOERROR, ["192.0.2.2"], "start")
            assert_secure(ub, f"chg.{zone}", "A", dns.rcode.NOERROR, ["192.0.2.1"], "start")
            for r in range(1, 7):
                ctx = f"{mode} round {r}"
                addr = f"192.0.2.{100 + r}"
                changes = [
                    rr(f"n{r}.{zone}", "A", [addr], ttl=1),
                    rr(f"e{r}.ent{r}.{zone}", "TXT", [f'"round {r}"']),
                    rr(f"*.wc{r}.{zone}", "AAAA", [f"2001:db8::{r}"]),
                    rr(f"chg.{zone}", "A", [addr], ttl=1),
                    rr(f"dl{r}.{zone}", "NS", ["ns.example.net."]),
                ]
                if r > 1:
                    changes.append(gone(f"n{r - 1}.{zone}", "A"))
                    changes.append(gone(f"e{r - 1}.ent{r - 1}.{zone}", "TXT"))
                live.patch_ok(zone, changes)
                time.sleep(2.5)  # the TTL 1 answers cached by Unbound are gone (whole seconds)
                assert_secure(ub, f"n{r}.{zone}", "A", dns.rcode.NOERROR, [addr], ctx)
                assert_secure(ub, f"chg.{zone}", "A", dns.rcode.NOERROR, [addr], ctx)
                assert_secure(ub, f"e{r}.ent{r}.{zone}", "TXT", dns.rcode.NOERROR,
                              [f'"round {r}"'], ctx)
                assert_secure(ub, f"ent{r}.{zone}", "A", dns.rcode.NOERROR, None, ctx)
                assert_secure(ub, f"x.wc{r}.{zone}", "AAAA", dns.rcode.NOERROR,
                              [f"2001:db8::{r}"], ctx)
                assert_secure(ub, f"x.wc{r}.{zone}", "TXT", dns.rcode.NOERROR, None, ctx)
                assert_secure(ub, f"dl{r}.{zone}", "DS", dns.rcode.NOERROR, None, ctx)
                assert_secure(ub, f"nx{r}.{zone}", "A", dns.rcode.NXDOMAIN, None, ctx)
                if r > 1:
                    assert_secure(ub, f"n{r - 1}.{zone}", "A", dns.rcode.NXDOMAIN, None, ctx)
                    # The empty non-terminal went with its only name.
                    assert_secure(ub, f"ent{r - 1}.{zone}", "TXT", dns.rcode.NXDOMAIN, None,
                                  ctx)
            text = ub.log()
            assert "validation failure" not in text, text
