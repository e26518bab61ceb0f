"""A KSK rollover done by hand through the cryptokeys API, end to end, as managed DNS platforms
teach it: each step is refused (409 unsafe-step, with error, reason and safeOrder) while it is
premature, accepted once it is safe, and a validating resolver never finds the zone bogus.

mrparent. is served by one `ensign serve`, signed with a CSK and no policy (nothing in it changes
by itself); c.mrparent. (KSK+ZSK) by a second one that probes the parent (parentServers). The test
is the registrar: it writes the parent's DS RRset (TTL 2 s) with PATCH, then asks the child to look
(POST .../check-ds, twice: two identical probes make an observation). A validating Unbound (trust
anchor: the parent's DS; stub zones for both) is asked www.c.mrparent./A every 200 ms during the
whole rollover: every answer must be NOERROR with AD.

The steps: a new KSK published but inactive -> activated at once beside the old one (it only adds
a signature over the DNSKEY RRset, the double-signature method of RFC 7583 §3.3.1; refusing it
would only delay the rollover) -> the old KSK may not stop signing before the
new DS is at the parent -> the new DS (dsRecords) added at the parent -> the old KSK may not be
deleted or unpublished while its DS is there, nor stop signing until caches hold the new DS (the
parent DS TTL after it appeared) -> deactivated -> old DS removed at the parent -> unpublishing
refused until the parent DS TTL has passed (and the old signatures may have expired) -> unpublished,
deleted. A published key must be in the served DNSKEY RRset (from publication to unpublication,
active or not). Server misbehaviour that leaves the rollover able to go on (a step accepted too
early, a DNSKEY not served) is collected and reported at the end with the resolver's answers, so
that one run shows every finding.

Why a policy: on a zone without one the checks take their timings from the built-in default
policy, only the DNSKEY TTL being the zone's own (the SOA's TTL, as served): a ZSK may take over
TTL + 300 s after its publication, a KSK go 86400 s after its DS left
(test_policyless_zone_waits_...). So the rollover
zone has a policy whose lifetimes are all 0 (nothing rolls by itself) with second-scale timings.
The key manager finishes a rollover it finds under way, but only after the safety margins
(publishSafety 5 s, retireSafety 4 s), which each manual step comes before."""
import calendar
import contextlib
import re
import time

import dns.flags
import dns.rcode

import gamedaylib as gd
import livelib
import servelib

ZONES = livelib.ZONES
PARENT = "mrparent."
CHILD = "c." + PARENT
WWW = "www." + CHILD
TTL = 2
HAND = {"name": "hand", "algorithm": "ecdsa-p256", "scheme": "ksk-zsk", "kskLifetime": 0,
        "zskLifetime": 0, "cskLifetime": 0, "dnskeyTtl": TTL, "zoneMaxTtl": TTL,
        "propagationDelay": 1, "parentDsTtl": TTL, "parentPropagationDelay": 1,
        "publishSafety": 5, "retireSafety": 4}
SLACK = 1  # the server counts in whole seconds: a wait of N s may end after N - 1 s


def ds_of(live, tag):
    """The SHA-256 DS rdata of key `tag` as GET .../dnssec shows it (what a registrar takes)."""
    return [" ".join(d["record"].split()[-4:]) for d in live.status(CHILD)["dsRecords"]
            if d["keyTag"] == tag and d["digestType"] == 2]


def set_parent_ds(parent, records):
    """The registrar: the parent's DS RRset for the child is exactly `records`, served."""
    parent.patch_ok(PARENT, [{"name": CHILD, "type": "DS", "ttl": TTL, "changetype": "REPLACE",
                              "records": [{"content": c} for c in records]}])


def probe_parent(child):
    """POST .../check-ds twice (an observation counts once two probes agree); the last answer."""
    for _ in range(2):
        r = child.req("POST", f"{ZONES}/{CHILD}/dnssec/check-ds")
        assert r.status_code == 200, r.text
    return r.json()


def seen_tags(res):
    return {int(d.split()[0]) for d in res["servers"][0]["seen"]}


@contextlib.contextmanager
def delegation(tmp_path, policy=None):
    """Parent and child signed, the child's DS at the parent and seen there by the child: yields
    (parent, child, trust anchors of the parent)."""
    with livelib.Live(tmp_path / "parent") as parent, livelib.Live(tmp_path / "child") as child:
        for live in (parent, child):
            live.s.headers["Connection"] = "close"  # no idle keep-alive between the steps
        parent.create(PARENT, text=gd.parent_text(PARENT, [CHILD]))
        st = parent.enable(PARENT, scheme="csk")
        anchors = [f"{PARENT} DS " + " ".join(d["record"].split()[-4:])
                   for d in st["dsRecords"] if d["digestType"] == 2]
        assert anchors, st
        child.create(CHILD, text=gd.child_text(CHILD, "192.0.2.7"))
        opts = {"parentServers": [f"127.0.0.1:{parent.port}"]}
        if policy:
            r = child.req("POST", "/api/v1/servers/localhost/policies", json=policy)
            assert r.status_code == 201, r.text
            opts["policy"] = policy["name"]
        st = child.enable(CHILD, **opts)
        set_parent_ds(parent, [" ".join(d["record"].split()[-4:]) for d in st["dsRecords"]
                               if d["digestType"] == 2])
        assert probe_parent(child)["dsDelegated"] is True
        yield parent, child, anchors


def refusal(r, what, words):
    """A 409 unsafe-step refusal whose reason says why (one of words); its body."""
    assert r.status_code == 409, f"{what}: expected a refusal, got {r.status_code} {r.text}"
    body = r.json()
    assert body.get("code") == "unsafe-step", f"{what}: {body}"
    for field in ("error", "reason"):
        assert isinstance(body.get(field), str) and body[field], f"{what}: no {field}: {body}"
    order = body.get("safeOrder")
    assert isinstance(order, list) and order and all(isinstance(s, str) and s for s in order), \
        f"{what}: safeOrder is not a list of steps: {body}"
    assert any(w in body["reason"] for w in words), \
        f"{what}: the reason does not say why (one of {words}): {body['reason']!r}"
    return body


def wait_until_of(body):
    """The Unix time a refusal's safe order says to wait for ("wait until T", T in RFC 3339
    UTC), or None."""
    m = re.search(r"until (\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z",
                  "; ".join(body["safeOrder"]))
    return calendar.timegm(tuple(int(x) for x in m.groups())) if m else None


def when_safe(do, what, words, timeout=30):
    """Tries a step every 0.25 s while it is refused (each refusal checked) until it is accepted
    (204): (wall time just after the accepting request, the refusals)."""
    refusals, deadline = [], time.time() + timeout
    while True:
        r = do()
        if r.status_code == 204:
            return time.time(), refusals
        refusals.append(refusal(r, what, words))
        assert time.time() < deadline, f"{what}: still refused after {timeout} s: {refusals[-1]}"
        time.sleep(0.25)


def test_manual_ksk_rollover_refuses_each_premature_step_and_never_goes_bogus(tmp_path):
    """KSK+ZSK zone, KSK rolled by hand with the resolver loop running: see the module text."""
    findings = []
    with delegation(tmp_path, HAND) as (parent, child, anchors):
        stubs = [(PARENT, parent.port), (CHILD, child.port)]
        with servelib.Unbound(stubs, anchors, str(tmp_path / "unbound")) as ub:
            def secure():
                r = ub.query(WWW, "A")
                return r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD

            gd.wait_for(secure, 30, f"{WWW} validates (AD) before the rollover")
            probe = gd.Probe(ub, [(WWW, "A")])
            t0 = time.monotonic()
            probe.start()
            try:
                roll_by_hand(parent, child, findings)
                time.sleep(2 * TTL + 1)  # every cached RRset of the old key set has expired
            finally:
                probe.stop()
        answers = probe.of(WWW, "A")
        bad = [gd.fmt_answer(a, t0) for a in answers
               if a[3] != dns.rcode.NOERROR or not a[4]]
        assert len(answers) > 50, f"too few answers from the resolver loop: {len(answers)}"
        assert not findings and not bad, (
            "server bugs:\n" + "\n".join(findings) + f"\n{len(bad)} of {len(answers)} answers "
            f"for {WWW} not NOERROR+AD:\n" + "\n".join(bad[:30]))


def roll_by_hand(parent, child, findings):
    base = f"{ZONES}/{CHILD}/cryptokeys"
    keys = child.req("GET", base).json()
    [old] = [k for k in keys if k["keytype"] == "ksk" and k["active"]]
    [zsk] = [k for k in keys if k["keytype"] == "zsk" and k["active"]]

    def put(k, **fields):
        return child.req("PUT", f"{base}/{k['id']}", json=fields)

    def delete(k):
        return child.req("DELETE", f"{base}/{k['id']}")

    def served(k):
        return k["keyTag"] in {t for t, _, _ in gd.served_dnskeys(child.port, CHILD)}

    # 1. A new KSK, published, not signing.
    t_pub = time.time()
    r = child.req("POST", base, json={"keytype": "ksk", "algorithm": "ecdsa-p256",
                                      "active": False, "published": True})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["published"] is True and new["active"] is False, new
    try:  # published: in the DNSKEY RRset the child serves, at once
        gd.wait_for(lambda: served(new), 2, "")
    except AssertionError:
        findings.append(
            f"POST {base} {{\"keytype\": \"ksk\", \"active\": false, \"published\": true}} "
            f"answered 201 with published: true, but the DNSKEY of key {new['keyTag']} is not in "
            "the DNSKEY RRset served 2 s later: only keys both published and active make the "
            "DNSKEY set (src/ctl/ctl.c load_key), so a key is never pre-published while the "
            "safety checks count its propagation from the API's publication time")
    # 2. Activated at once beside the old KSK: it adds a signature over the DNSKEY RRset, the
    #    one the parent's DS vouches for still signs.
    r = put(new, active=True)
    assert r.status_code == 204, r.text
    assert t_pub > 0
    assert served(new), "the active new KSK's DNSKEY is not served"
    # 3. The old KSK keeps signing until the new DS is at the parent, and stays published.
    refusal(put(old, active=False), "deactivate the old KSK before the new DS is at the parent",
            ("DS",))
    refusal(delete(old), "delete the old KSK while it is published", ("published",))
    # 4. The new DS as the API shows it; the registrar adds it next to the old one.
    ds_old, ds_new = ds_of(child, old["keyTag"]), ds_of(child, new["keyTag"])
    assert ds_old and ds_new, child.status(CHILD)
    t_ds = time.time()
    set_parent_ds(parent, ds_old + ds_new)
    res = probe_parent(child)
    assert seen_tags(res) == {old["keyTag"], new["keyTag"]}, res
    # 5. While the old DS is at the parent the old KSK may not go; it may stop signing only once
    #    every cache holding the child's DS RRset has the new DS: the parent DS TTL after it came.
    refusal(delete(old), "delete the old KSK whose DS is at the parent", ("published",))
    refusal(put(old, published=False), "unpublish the old KSK whose DS is at the parent",
            ("still at the parent",))
    acc, refusals = when_safe(lambda: put(old, active=False),
                              "deactivate the old KSK right after the new DS appeared",
                              ("DS", "cache"))
    if acc < t_ds + TTL - SLACK:
        findings.append(
            f"PUT {base}/{old['id']} {{\"active\": false}} (old KSK {old['keyTag']}) was accepted "
            f"{acc - t_ds:.2f} s after the new DS {new['keyTag']} appeared at the parent, with "
            f"{len(refusals)} refusals before; expected 409 unsafe-step until the parent DS TTL "
            f"({TTL} s) had passed since, as resolvers may still cache the DS RRset without the "
            "new DS and then find a DNSKEY RRset signed by no key a cached DS points to "
            "(src/keys/safety.c check_last/other_ds_signer look only at ds_seen, not at "
            "ds_seen + parentDsTtl)")
    t_off = acc
    if not served(old):
        findings.append(
            f"after PUT {base}/{old['id']} {{\"active\": false}} the old KSK {old['keyTag']} "
            "(still published: true, its DS still at the parent) is no longer in the served "
            "DNSKEY RRset: deactivating a key unpublishes its DNSKEY at once (src/ctl/ctl.c "
            "load_key); for a ZSK that leaves cached signatures pointing to a DNSKEY gone")
    # 6. Retired, but its DS is still at the parent: still no unpublish, no delete.
    refusal(put(old, published=False), "unpublish the retired KSK whose DS is at the parent",
            ("still at the parent",))
    refusal(delete(old), "delete the retired KSK", ("published",))
    # Its signatures (KSK Iret: 1 + 2 + 4 s) expire well before the old DS's TTL once it is gone.
    time.sleep(max(0.0, t_off + 4 - time.time()))
    # 7. The registrar removes the old DS; its cached copies may live one parent DS TTL more.
    t_gone = time.time()
    set_parent_ds(parent, ds_new)
    res = probe_parent(child)
    assert seen_tags(res) == {new["keyTag"]}, res
    acc, refusals = when_safe(lambda: put(old, published=False), "unpublish the old KSK",
                              ("cache",))
    assert refusals and "left the parent" in refusals[0]["reason"], refusals
    until = wait_until_of(refusals[0])
    assert until is not None and until >= t_gone + TTL - SLACK, refusals[0]
    assert acc >= until and acc >= t_gone + TTL - SLACK, (acc, until, t_gone)
    # 8. Unpublished and no DS anywhere: deleting it is safe now.
    r = delete(old)
    assert r.status_code == 204, r.text
    assert old["id"] not in {k["id"] for k in child.req("GET", base).json()}
    gd.wait_for(lambda: {t for t, _, _ in gd.served_dnskeys(child.port, CHILD)} ==
                {new["keyTag"], zsk["keyTag"]}, 10, "only the new KSK and the ZSK served")
    assert gd.parent_ds(parent.port, CHILD) == {(new["keyTag"], 13)}


def test_policyless_zone_waits_come_from_the_default_policy(tmp_path):
    """A zone without a policy is run by hand, but its safety waits are the built-in default
    policy's (DNSKEY TTL aside, the zone's own as served): a new CSK may take over from the old
    one only the zone's DNSKEY TTL (2 s) plus 300 s of propagation after its publication, which
    is why the rollover above uses a policy of its own."""
    with delegation(tmp_path) as (_, child, _anchors):
        assert child.status(CHILD)["rollover"]["phase"] == "manual"
        base = f"{ZONES}/{CHILD}/cryptokeys"
        [old] = [k for k in child.req("GET", base).json() if k["keytype"] == "csk"]
        t = time.time()
        r = child.req("POST", base, json={"keytype": "csk", "algorithm": "ecdsa-p256",
                                          "active": True, "published": True})
        assert r.status_code == 201, r.text
        body = refusal(child.req("PUT", f"{base}/{old['id']}", json={"active": False}),
                       "let a just-published CSK take over on a policy-less zone",
                       ("not yet in every cache",))
        order = "; ".join(body["safeOrder"])
        assert f"DNSKEY TTL {TTL} s plus propagation 300 s" in order, body
        assert t + 300 < wait_until_of(body) <= t + TTL + 300 + 2, body
