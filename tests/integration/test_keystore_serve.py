"""Keys on a PKCS#11 token (SoftHSM2) under `ensign serve --keystore hsm=pkcs11:...`, through
the API: zones signed on the token with every algorithm it has, judged by BIND's dnssec-verify,
ldns-verify-zone and a validating Unbound whose trust anchor is the zone's DS; the private
objects made sensitive and never extractable, and no private key material in the data
directory (pkcs11-tool is the judge of what the token holds); a policy with the KSK on the
token and the ZSK in files (kskKeystore) through a ZSK and a KSK rollover under the key manager
on the test clock, with another ensign as the parent and the test as the registrar; a key pair
made by pkcs11-tool --keypairgen linked as the zone's key (existingKey); the token removed, or
its PIN changed, while the zone is served: the zone keeps its last good version and says why
in lastSignError, then recovers when the token is back; and destruction of token objects only
on request (DELETE ?destroy=true) and only when safe.

Each test has its own token directory and SoftHSM2 configuration (SOFTHSM2_CONF in the
server's environment). Time moves only by the test clock; no test sleeps for ensign's time."""
import base64
import os
import subprocess
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import hsmlib
import livelib
import servelib

ZONES = livelib.ZONES
MODULE = hsmlib.MODULE
# ensign's algorithm names, and the DNSSEC numbers
ALGS = {"ecdsa-p256": 13, "ecdsa-p384": 14, "ed25519": 15, "ed448": 16, "rsa-2048": 8,
        "RSASHA512": 10}
# the mnemonics the API answers with, and the numbers
ALGS_NUM = {"ECDSAP256SHA256": 13, "ECDSAP384SHA384": 14, "ED25519": 15, "ED448": 16,
            "RSASHA256": 8, "RSASHA512": 10}


@pytest.fixture
def token(tmp_path, monkeypatch):
    """A token of the test's own; the servers started by the test find it (SOFTHSM2_CONF)."""
    root = tmp_path / "hsm"
    root.mkdir()
    tok = hsmlib.Token(root)
    for k, v in hsmlib.softhsm_env(tok.conf).items():
        if os.environ.get(k) != v:
            monkeypatch.setenv(k, v)
    return tok


def hsm_server(tmp_path, token, name="srv", extra=(), test_clock="now"):
    return livelib.Live(tmp_path / name, test_clock=test_clock,
                        extra=["--keystore", f"hsm={token.uri}", *extra])


def keys_of(live, zone):
    r = live.req("GET", f"{ZONES}/{zone}/cryptokeys")
    assert r.status_code == 200, r.text
    return r.json()


def rrset(name, rtype, contents, ttl=300):
    return {"name": name, "type": rtype, "ttl": ttl, "changetype": "REPLACE",
            "records": [{"content": c} for c in contents]}


def ds_anchor(live, zone):
    """The zone's SHA-256 DS as a trust anchor line for Unbound."""
    recs = [d["record"] for d in live.status(zone)["dsRecords"] if d["digestType"] == 2]
    assert recs, live.status(zone)
    return [f"{zone} DS {r}" for r in recs]


def judge(live, zone, tmp_path, tag, at=None):
    """The zone as served, judged by dnssec-verify and ldns-verify-zone; at a test clock's time
    `at` (Unix seconds) instead of now by ldns-verify-zone and Knot's kzonecheck, which take a
    time (dnssec-verify takes none)."""
    text = live.export(zone)
    path = tmp_path / f"{tag}.signed"
    path.write_text(text)
    if at is None:
        args = ["dnssec-verify", "-o", zone]
        if livelib.is_csk(text, zone):
            args.append("-z")
        p = livelib.run_tool(args + [str(path)])
        assert p.returncode == 0, f"dnssec-verify {tag}:\n{p.stdout}{p.stderr}"
        p = livelib.run_tool(["ldns-verify-zone", str(path)])
    else:
        p = livelib.run_tool(["kzonecheck", "-o", zone, "--dnssec", "on", "-t", str(at),
                              str(path)])
        assert p.returncode == 0, f"kzonecheck {tag}:\n{p.stdout}{p.stderr}"
        p = livelib.run_tool(["ldns-verify-zone", "-t", f"{at - int(time.time()):+d}", str(path)])
    assert p.returncode == 0, f"ldns-verify-zone {tag}:\n{p.stdout}{p.stderr}"
    return text


def secure_answer(ub, qname, qtype="A"):
    r = ub.query(qname, qtype)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AD, \
        f"{qname} {qtype}: not validated:\n{r.to_text()}\n{ub.log()[-3000:]}"
    return r


def private_files(data):
    """Every file under the data directory."""
    return [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs]


# ---- every algorithm, signed on the token ------------------------------------------------------

def test_every_algorithm_on_the_token_validates(token, tmp_path):
    have = token.mechanisms()
    # SoftHSM 2.6.1 (Debian 12) has every algorithm ensign signs with
    assert have == set(ALGS), have
    with hsm_server(tmp_path, token) as live:
        zones = {}
        for i, alg in enumerate(sorted(have)):
            zone = f"a{ALGS[alg]}.hsm.example."
            live.create(zone, rrsets=[rrset(f"www.{zone}", "A", ["192.0.2.80"])])
            scheme = "ksk+zsk" if i % 2 else "csk"
            st = live.enable(zone, algorithm=alg, keystore="hsm", scheme=scheme)
            assert all(k["keystore"] == "hsm" for k in st["keys"]), st
            zones[zone] = scheme
        for zone, scheme in zones.items():
            keys = keys_of(live, zone)
            assert len(keys) == (1 if scheme == "csk" else 2), keys
            for k in keys:
                assert k["keystore"] == "hsm" and k["pkcs11Uri"].startswith(
                    "pkcs11:token=ensign;id="), k
                assert ";type=private" in k["pkcs11Uri"] and "pin" not in k["pkcs11Uri"], k
            judge(live, zone, tmp_path, zone)
        # the private objects: sensitive, never extractable, for signing only; labelled by
        # zone, algorithm and key tag
        objs = token.objects()
        privs = [o for o in objs if o["kind"] == "Private Key"]
        assert len(privs) == sum(1 if s == "csk" else 2 for s in zones.values()), objs
        for zone in zones:
            for k in keys_of(live, zone):
                label = f"{zone[:-1]}+{ALGS_NUM[k['algorithm']]:03d}+{k['keyTag']:05d}"
                [priv] = [o for o in privs if o.get("label") == label]
                access = [a.strip() for a in priv["access"].split(",")]
                assert "sensitive" in access and "always sensitive" in access, priv
                assert "never extractable" in access, priv
                assert priv["usage"] == "sign", priv
                p = token.p11("--read-object", "--type", "privkey", "--label", label, "-o",
                              tmp_path / "out.der", check=False)
                assert not (tmp_path / "out.der").exists(), p.stdout + p.stderr
        # nothing of a private key in the data directory: no key file at all
        for f in private_files(live.data):
            data = open(f, "rb").read()
            assert b"PRIVATE KEY" not in data and not f.endswith(".private.pem"), f
        # a validating resolver with each zone's DS as its trust anchor
        anchors = [a for z in zones for a in ds_anchor(live, z)]
        with servelib.Unbound([(z, live.port) for z in zones], anchors,
                              str(tmp_path / "unbound")) as ub:
            for zone in zones:
                secure_answer(ub, f"www.{zone}")
                secure_answer(ub, zone, "DNSKEY")
                r = ub.query(f"nx.{zone}", "A")
                assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AD, r.to_text()
        # a change is signed on the token too, and validates
        zone = next(iter(zones))
        live.patch_ok(zone, [rrset(f"new.{zone}", "TXT", ['"signed on the token"'])])
        judge(live, zone, tmp_path, "after-patch")



# ---- KSK on the token, ZSK in files, rolled by the key manager ---------------------------------

PARENT = "hsmroll."
CHILD = "c." + PARENT
VALIDITY = 7200
SPLIT = {"name": "split", "algorithm": "ecdsa-p256", "scheme": "ksk-zsk", "keystore": "default",
         "kskKeystore": "hsm", "zskLifetime": 12 * 3600, "kskLifetime": 24 * 3600,
         "dnskeyTtl": 60, "zoneMaxTtl": 300, "propagationDelay": 30, "parentDsTtl": 60,
         "parentPropagationDelay": 30, "publishSafety": 60, "retireSafety": 60,
         "signatureValidity": VALIDITY, "signatureRefresh": VALIDITY // 3}


def child_cds(child):
    """The DS RRset the child asks for (its CDS), as DS rdata text; None when it has none."""
    q = dns.message.make_query(CHILD, "CDS")
    r = dns.query.udp(q, servelib.ADDR, port=child.port, timeout=5)
    sets = [rs for rs in r.answer if rs.rdtype == dns.rdatatype.CDS]
    return sorted(rd.to_text() for rd in sets[0]) if sets else None


class Registrar:
    """Makes the parent's DS RRset for the child what the child's CDS asks for."""

    def __init__(self, parent, child):
        self.parent, self.child, self.ds = parent, child, []

    def sync(self):
        want = child_cds(self.child)
        if want is None:
            return
        want = [] if want == ["0 0 0 00"] else want
        if want != self.ds:
            self.parent.patch_ok(PARENT, [rrset(CHILD, "DS", want, ttl=60)] if want else
                                 [{"name": CHILD, "type": "DS", "changetype": "DELETE"}])
            self.ds = want


def test_ksk_on_token_zsk_in_files_through_rollovers(token, tmp_path):
    real_start = int(time.time())
    # the child's time starts two days back, so that when its rollovers are done its
    # signatures are current for a resolver on the wall clock
    start = real_start - 2 * 86400
    with livelib.Live(tmp_path / "parent") as parent, \
            hsm_server(tmp_path, token, "child", test_clock=start,
                       extra=["--sig-validity", str(VALIDITY),
                              "--sig-refresh", str(VALIDITY // 3)]) as child:
        parent.create(PARENT, rrsets=[
            rrset(CHILD, "NS", [f"ns1.{CHILD}"]),
            rrset(f"ns1.{CHILD}", "A", ["127.0.0.1"])])
        r = child.req("POST", "/api/v1/servers/localhost/policies", json=SPLIT)
        assert r.status_code == 201, r.text
        assert r.json()["keystore"] == "default" and r.json()["kskKeystore"] == "hsm", r.json()
        child.create(CHILD, rrsets=[rrset(f"www.{CHILD}", "A", ["192.0.2.7"])])
        r = child.req("PUT", f"{ZONES}/{CHILD}/dnssec",
                      json={"enabled": True, "policy": "split",
                            "parentServers": [f"127.0.0.1:{parent.port}"]})
        assert r.status_code == 200, r.text
        first = {k["keytype"]: k for k in keys_of(child, CHILD)}
        assert set(first) == {"ksk", "zsk"}, first
        assert first["ksk"]["keystore"] == "hsm" and first["ksk"]["pkcs11Uri"], first
        assert first["zsk"]["keystore"] == "default" and first["zsk"]["pkcs11Uri"] is None
        reg = Registrar(parent, child)
        now = child.clock(advance=0)
        seen_keys = {k["id"]: k for k in first.values()}
        checks = 0
        while now < real_start - 3600:
            reg.sync()
            now = child.clock(advance=1800)
            reg.sync()
            keys = keys_of(child, CHILD)
            for k in keys:
                seen_keys.setdefault(k["id"], k)
                # every key made by the key manager goes where the policy says
                assert k["keystore"] == ("hsm" if k["keytype"] == "ksk" else "default"), k
            st = child.status(CHILD)
            assert st["lastSignError"] is None, st
            checks += 1
            if checks % 6 == 0:
                judge(child, CHILD, tmp_path, f"t{checks}", at=now)
            ids = {k["id"] for k in keys}
            rolled = first["ksk"]["id"] not in ids and first["zsk"]["id"] not in ids
            if rolled and st["rollover"]["kind"] == "none":
                break
        keys = keys_of(child, CHILD)
        ids = {k["id"] for k in keys}
        assert first["zsk"]["id"] not in ids, (keys, child.status(CHILD))
        assert first["ksk"]["id"] not in ids, (keys, child.status(CHILD))
        active = {k["keytype"]: k for k in keys if k["active"]}
        assert set(active) == {"ksk", "zsk"}, keys
        assert active["ksk"]["keystore"] == "hsm" and active["zsk"]["keystore"] == "default"
        # at least one ZSK and one KSK generation by the key manager
        made = [k for i, k in seen_keys.items() if i not in {first["ksk"]["id"],
                                                              first["zsk"]["id"]}]
        assert {k["keytype"] for k in made} == {"ksk", "zsk"}, made
        # the old KSK left the zone but not the token (never destroyed unless asked); the old
        # ZSK's files are gone, the new ZSK's are there; no KSK ever touched the disk
        labels = token.labels()
        old_label = f"c.hsmroll+013+{first['ksk']['keyTag']:05d}"
        new_label = f"c.hsmroll+013+{active['ksk']['keyTag']:05d}"
        assert labels.count(old_label) == 2 and labels.count(new_label) == 2, labels
        keydir = os.path.join(child.data, "keys")
        files = sorted(os.listdir(keydir))
        assert not [f for f in files if f"+{first['zsk']['keyTag']:05d}." in f], files
        assert f"c.hsmroll+013+{active['zsk']['keyTag']:05d}.private.pem" in files, files
        for f in files:
            if f.endswith(".key"):
                assert "; role: zsk" in open(os.path.join(keydir, f)).read(), f
        # the final state validates from its DS, at the wall clock's time
        child.clock(at=max(now, int(time.time())))
        reg.sync()
        judge(child, CHILD, tmp_path, "final")
        with servelib.Unbound([(CHILD, child.port)], ds_anchor(child, CHILD),
                              str(tmp_path / "unbound")) as ub:
            secure_answer(ub, f"www.{CHILD}")
            secure_answer(ub, CHILD, "DNSKEY")


# ---- a key pair made elsewhere, linked -------------------------------------------------------

def ec_point_of(token, key_id, tmp_path):
    """The public key of the object with CKA_ID key_id as DNSKEY base64 (X||Y of P-256)."""
    der = tmp_path / "pub.der"
    token.p11("--read-object", "--type", "pubkey", "--id", key_id, "-o", der)
    p = subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-in", str(der),
                        "-noout", "-text"], capture_output=True, text=True, check=True)
    hexpart = p.stdout.split("pub:")[1].split("ASN1 OID")[0]
    raw = bytes.fromhex("".join(hexpart.split()).replace(":", ""))
    assert raw[0] == 4 and len(raw) == 65, raw.hex()
    return base64.b64encode(raw[1:]).decode()


def scalar_forms(der_path):
    """The private scalar of an EC key (PKCS#8 DER) in the forms a file could hold it."""
    p = subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", str(der_path), "-noout",
                        "-text"], capture_output=True, text=True, check=True)
    hexpart = p.stdout.split("priv:")[1].split("pub:")[0]
    raw = bytes.fromhex("".join(hexpart.split()).replace(":", ""))[-32:]
    return [raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw)]


def test_existing_key_pair_is_linked_not_made(token, tmp_path):
    token.p11("--keypairgen", "--key-type", "EC:prime256v1", "--id", "4242", "--label",
              "ext-key")
    # a second key pair whose private half this test knows, to look for it on disk later
    secret = tmp_path / "secret"
    secret.mkdir(mode=0o700)
    priv, pub = secret / "priv.der", secret / "pub.der"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-outform", "DER", "-out", str(priv)], check=True)
    subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", str(priv), "-pubout", "-outform",
                    "DER", "-out", str(pub)], check=True)
    token.p11("--write-object", priv, "--type", "privkey", "--id", "0101", "--label", "known")
    token.p11("--write-object", pub, "--type", "pubkey", "--id", "0101", "--label", "known")
    before = token.objects()
    zone = "link.hsm.example."
    with hsm_server(tmp_path, token) as live:
        live.create(zone, rrsets=[rrset(f"www.{zone}", "A", ["192.0.2.8"])])
        # refusals name the field: wrong algorithm for the key, no such key, no such keystore
        for body, field, words in [
            ({"existingKey": "pkcs11:token=ensign;object=ext-key", "algorithm": "ed25519"},
             "existingKey", "not ED25519 (15)"),
            ({"existingKey": "pkcs11:token=ensign;object=absent"}, "existingKey",
             "no private key matching"),
            ({"existingKey": "pkcs11:object=ext-key", "keystore": "nope"}, "keystore",
             "no keystore named nope"),
            ({"existingKey": "not a uri"}, "existingKey", "pkcs11: URI"),
        ]:
            r = live.req("PUT", f"{ZONES}/{zone}/dnssec", json={"enabled": True, **body})
            assert r.status_code == 422, r.text
            assert r.json()["error"].startswith(field + ":") and words in r.json()["error"], \
                r.json()
            assert live.status(zone)["enabled"] is False
        st = live.enable(zone, scheme="csk", algorithm="ecdsa-p256",
                         existingKey="pkcs11:token=ensign;object=ext-key")
        [key] = keys_of(live, zone)
        assert key["keytype"] == "csk" and key["keystore"] == "hsm", key
        assert key["pkcs11Uri"] == "pkcs11:token=ensign;id=BB;type=private", key
        assert key["dnskey"].split()[-1] == ec_point_of(token, "4242", tmp_path), key
        assert token.objects() == before  # nothing made, nothing renamed
        # the same PUT again changes nothing; another key pair on a signed zone is refused,
        # and the refused change, rolled back, leaves the linked key pair on the token
        r = live.req("PUT", f"{ZONES}/{zone}/dnssec",
                     json={"enabled": True, "existingKey": "pkcs11:token=ensign;object=ext-key"})
        assert r.status_code == 200 and len(keys_of(live, zone)) == 1, r.text
        r = live.req("PUT", f"{ZONES}/{zone}/dnssec",
                     json={"enabled": True, "existingKey": "pkcs11:token=ensign;object=known"})
        assert r.status_code == 409 and "existingKey" in r.json()["error"], r.text
        assert len(keys_of(live, zone)) == 1 and token.objects() == before
        # the known key linked as a ZSK through cryptokeys (the token named by keystore)
        r = live.req("POST", f"{ZONES}/{zone}/cryptokeys",
                     json={"keytype": "zsk", "algorithm": "ecdsa-p256", "keystore": "hsm",
                           "existingKey": "pkcs11:id=%01%01", "active": True})
        assert r.status_code == 201, r.text
        assert r.json()["keystore"] == "hsm" and r.json()["pkcs11Uri"].endswith(";type=private")
        assert token.objects() == before
        judge(live, zone, tmp_path, "linked")
        with servelib.Unbound([(zone, live.port)], ds_anchor(live, zone),
                              str(tmp_path / "unbound")) as ub:
            secure_answer(ub, f"www.{zone}")
        # the zone's DNSSEC off (forced: the parent is unknown): the linked keys stay on the
        # token
        r = live.req("PUT", f"{ZONES}/{zone}/dnssec?force=true", json={"enabled": False})
        assert r.status_code == 200, r.text
        assert keys_of(live, zone) == []
        assert token.objects() == before
        # no private key material anywhere in the data directory
        forms = scalar_forms(priv)
        for f in private_files(live.data):
            data = open(f, "rb").read()
            assert not any(x in data for x in forms) and b"PRIVATE KEY" not in data, f
        assert not st["lastSignError"]


# ---- the token goes away while the zone is served ---------------------------------------------

def a_of(live, name):
    ans = live.query(name, "A")
    return [rd.address for rs in ans.answer if rs.rdtype == dns.rdatatype.A for rd in rs], ans


def test_token_removed_mid_run_keeps_the_zone_served_then_recovers(token, tmp_path):
    zone = "gone.hsm.example."
    with hsm_server(tmp_path, token) as live:
        live.create(zone, rrsets=[rrset(f"www.{zone}", "A", ["192.0.2.10"])])
        live.enable(zone, keystore="hsm")
        old = live.serial(zone)
        token.remove()  # the token directory is emptied under the running server
        r = live.patch(zone, [rrset(f"www.{zone}", "A", ["192.0.2.99"])])
        assert r.status_code == 204, r.text  # the change is committed
        new = int(r.headers["X-PDNS-New-Serial"])
        live.clock(advance=10)  # retries fail meanwhile
        assert live.serial(zone) == old
        addrs, ans = a_of(live, f"www.{zone}")
        assert addrs == ["192.0.2.10"] and livelib.rrsigs_in(ans), ans.to_text()
        st = live.status(zone)
        err = st["lastSignError"]
        assert err and 'PKCS#11 token "ensign"' in err and MODULE in err, st
        assert "not present" in err and "key " in err, err
        # the first failure (the PATCH's, a signature refused) names the key once
        [failed] = [ln for ln in live.log().splitlines() if "dnssec.sign_failed" in ln]
        assert "not present" in failed and failed.count("with key") == 1, failed
        assert st["enabled"] is True and st["rrsigExpiresIn"] > 0, st
        m = live.metrics()
        assert livelib.metric(m, "ensign_zone_sign_failures_total", zone=zone) > 0
        assert livelib.metric(m, "ensign_zone_serial", zone=zone) == old
        ks = {k["name"]: k for k in live.req("GET", "/api/v1/servers/localhost/keystores").json()}
        assert ks["hsm"]["ok"] is False and "not present" in ks["hsm"]["error"], ks
        assert ks["default"]["ok"] is True
        token.restore()
        live.clock(advance=60)  # the server's own retry, with its backoff
        assert live.serial(zone) == new, live.status(zone)
        assert live.status(zone)["lastSignError"] is None
        addrs, _ = a_of(live, f"www.{zone}")
        assert addrs == ["192.0.2.99"]
        ks = {k["name"]: k for k in live.req("GET", "/api/v1/servers/localhost/keystores").json()}
        assert ks["hsm"]["ok"] is True, ks
        judge(live, zone, tmp_path, "recovered")


def test_pin_changed_under_the_server_says_so_then_recovers(token, tmp_path):
    zone = "pin.hsm.example."
    with hsm_server(tmp_path, token) as live:
        live.create(zone, rrsets=[rrset(f"www.{zone}", "A", ["192.0.2.11"])])
        live.enable(zone, keystore="hsm", algorithm="ed25519")
        old = live.serial(zone)
        token.p11("--change-pin", "--new-pin", "98765")
        token.remove()  # and the token goes and comes back: the login is gone
        token.restore()
        r = live.patch(zone, [rrset(f"www.{zone}", "A", ["192.0.2.12"])])
        assert r.status_code == 204, r.text
        live.clock(advance=10)
        assert live.serial(zone) == old
        err = live.status(zone)["lastSignError"]
        assert err and "CKR_PIN_INCORRECT" in err and '"ensign"' in err and MODULE in err, err
        assert "98765" not in err and "1234" not in err
        token.pin.write_text("98765\n")  # the operator corrects the PIN file
        live.clock(advance=60)
        assert livelib.serial_gt(live.serial(zone), old), live.status(zone)
        assert live.status(zone)["lastSignError"] is None
        judge(live, zone, tmp_path, "pin")


# ---- destruction only when asked, and only when safe ------------------------------------------

def test_token_objects_destroyed_only_on_request_and_when_safe(token, tmp_path):
    zone, other = "del.hsm.example.", "other.hsm.example."
    with hsm_server(tmp_path, token) as live:
        for z in (zone, other):
            live.create(z, rrsets=[rrset(f"www.{z}", "A", ["192.0.2.13"])])
        live.enable(zone, keystore="hsm")
        [csk] = keys_of(live, zone)
        label = f"del.hsm.example+013+{csk['keyTag']:05d}"
        # the signing key: refused by the safety gate, destroy or not
        r = live.req("DELETE", f"{ZONES}/{zone}/cryptokeys/{csk['id']}?destroy=true")
        assert r.status_code == 409 and r.json()["code"] == "unsafe-step", r.text
        assert token.labels().count(label) == 2
        # an unused key on the token, deleted without destroy: it stays on the token
        r = live.req("POST", f"{ZONES}/{zone}/cryptokeys",
                     json={"keytype": "zsk", "keystore": "hsm", "published": False})
        assert r.status_code == 201 and r.json()["keystore"] == "hsm", r.text
        kept = r.json()
        kept_label = f"del.hsm.example+013+{kept['keyTag']:05d}"
        assert live.req("DELETE", f"{ZONES}/{zone}/cryptokeys/{kept['id']}").status_code == 204
        assert token.labels().count(kept_label) == 2
        # ... and with destroy=true: its objects go
        r = live.req("POST", f"{ZONES}/{zone}/cryptokeys",
                     json={"keytype": "zsk", "keystore": "hsm", "published": False})
        gone = r.json()
        gone_label = f"del.hsm.example+013+{gone['keyTag']:05d}"
        assert token.labels().count(gone_label) == 2
        r = live.req("DELETE", f"{ZONES}/{zone}/cryptokeys/{gone['id']}?destroy=true")
        assert r.status_code == 204, r.text
        assert gone_label not in token.labels()
        audit = live.req("GET", "/api/v1/audit", params={"zone": zone}).json()
        assert any(a["action"] == "key.delete" and '"destroy": true' in (a.get("detail") or "")
                   for a in audit), audit
        # a key pair linked to two zones is not destroyed while the other zone has it
        uri = f"pkcs11:token=ensign;object={kept_label}"
        ids = {}
        for z in (zone, other):
            r = live.req("POST", f"{ZONES}/{z}/cryptokeys",
                         json={"keytype": "zsk", "existingKey": uri, "published": False})
            assert r.status_code == 201, r.text
            ids[z] = r.json()["id"]
        r = live.req("DELETE", f"{ZONES}/{zone}/cryptokeys/{ids[zone]}?destroy=true")
        assert r.status_code == 409 and r.json()["code"] == "key-in-use", r.text
        assert token.labels().count(kept_label) == 2
        assert live.req("DELETE", f"{ZONES}/{other}/cryptokeys/{ids[other]}").status_code == 204
        r = live.req("DELETE", f"{ZONES}/{zone}/cryptokeys/{ids[zone]}?destroy=true")
        assert r.status_code == 204, r.text
        assert kept_label not in token.labels()
        # the zone deleted (DNSSEC off first, forced: the parent is unknown): its key stays
        r = live.req("PUT", f"{ZONES}/{zone}/dnssec?force=true", json={"enabled": False})
        assert r.status_code == 200, r.text
        assert live.req("DELETE", f"{ZONES}/{zone}").status_code == 204
        assert token.labels().count(label) == 2


# ---- configuration -------------------------------------------------------------------------------

def serve_fails(tmp_path, *args):
    p = subprocess.run([servelib.ENSIGN, "serve", "--listen", f"127.0.0.1:{servelib.free_port()}",
                        "--data", str(tmp_path / "bad-data"), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0, p.stderr
    return p.stderr


def test_keystore_configuration_and_a_module_that_does_not_load(token, tmp_path):
    assert "NAME=URI" in serve_fails(tmp_path, "--keystore", "no name here")
    assert "data directory's own" in serve_fails(tmp_path, "--keystore", f"default={token.uri}")
    err = serve_fails(tmp_path, "--keystore", "x=pkcs11:token=x?module-path=/a.so&pin-sorce=/p")
    assert "does not know" in err and "pin-sorce=/p" not in err, err
    err = serve_fails(tmp_path, "--keystore", "x=pkcs11:token=x?module-path=/a.so&pin-value=9876",
                      "--keystore", "x=file:/tmp")
    assert "given twice" in err and "9876" not in err, err
    # a module that does not load: the server starts, the keystore says why, and a zone asked
    # to use it is refused with that sentence
    bad = "bad=pkcs11:token=x?module-path=/nonexistent/lib.so&pin-value=4321"
    with hsm_server(tmp_path, token, extra=["--keystore", bad]) as live:
        ks = live.req("GET", "/api/v1/servers/localhost/keystores").json()
        assert [k["name"] for k in ks] == ["default", "hsm", "bad"], ks
        assert ks[0]["kind"] == "files" and ks[1]["kind"] == "pkcs11" and ks[1]["ok"], ks
        assert ks[2]["ok"] is False and "/nonexistent/lib.so" in ks[2]["error"], ks
        assert "4321" not in str(ks)
        zone = "bad.hsm.example."
        live.create(zone)
        r = live.req("PUT", f"{ZONES}/{zone}/dnssec", json={"enabled": True, "keystore": "bad"})
        assert r.status_code == 500 and "cannot load the PKCS#11 module" in r.text, r.text
        assert live.status(zone)["enabled"] is False
        r = live.req("PUT", f"{ZONES}/{zone}/dnssec", json={"enabled": True, "keystore": "nope"})
        assert r.status_code == 422 and r.json()["error"].startswith("keystore:"), r.text
        r = live.req("POST", "/api/v1/servers/localhost/policies",
                     json={"name": "p", "kskKeystore": "nope"})
        assert r.status_code == 422 and r.json()["field"] == "kskKeystore", r.text
        # a policy whose KSK goes to the token and ZSK to the keystore that does not load: the
        # KSK is made on the token, the ZSK fails, the change is rolled back and the KSK made
        # for it is destroyed again (nothing refers to it)
        r = live.req("POST", "/api/v1/servers/localhost/policies",
                     json={"name": "half", "scheme": "ksk-zsk", "keystore": "bad",
                           "kskKeystore": "hsm"})
        assert r.status_code == 201, r.text
        before = token.objects()
        r = live.req("PUT", f"{ZONES}/{zone}/dnssec", json={"enabled": True, "policy": "half"})
        assert r.status_code == 500 and "cannot load the PKCS#11 module" in r.text, r.text
        assert token.objects() == before and keys_of(live, zone) == []
        assert live.status(zone)["enabled"] is False
        assert "4321" not in live.log()


# ---- the command line ------------------------------------------------------------------------

def cli(live, *args, want=0):
    """The ensign command against live's API, with its key; must exit with want."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENSIGN_") or k == "ENSIGN_BIN"}
    env.update({"HOME": "/nonexistent", "ENSIGN_URL": live.base, "ENSIGN_TOKEN": livelib.KEY})
    env.pop("XDG_CONFIG_HOME", None)
    p = subprocess.run([servelib.ENSIGN, *args], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == want, (args, p.stdout, p.stderr)
    return p.stdout + p.stderr


def test_command_line_keystores(token, tmp_path):
    zone, linked = "cli.hsm.example.", "ln.hsm.example."
    token.p11("--keypairgen", "--key-type", "EC:prime256v1", "--id", "5151", "--label", "mine")
    with hsm_server(tmp_path, token) as live:
        out = cli(live, "keystore", "list")
        assert "default" in out and 'hsm              pkcs11 PKCS#11 token "ensign"' in out, out
        for z in (zone, linked):
            live.create(z)
        out = cli(live, "dnssec", "enable", zone, "--keystore", "hsm", "--algorithm", "ed25519")
        assert "earliest RRSIG expiry: " in out, out
        [csk] = keys_of(live, zone)
        assert csk["keystore"] == "hsm" and csk["algorithm"] == "ED25519", csk
        out = cli(live, "key", "generate", zone, "--role", "zsk", "--keystore", "hsm",
                  "--algorithm", "ed25519")
        assert "KEYSTORE" in out and out.splitlines()[1].split()[-1] == "hsm", out
        zsk = next(k for k in keys_of(live, zone) if k["keytype"] == "zsk")
        label = f"cli.hsm.example+015+{zsk['keyTag']:05d}"
        assert token.labels().count(label) == 2
        # published (never signing): refused as too early by the safety gate, destroy or not;
        # forced, it goes, and its key pair with it
        out = cli(live, "key", "delete", zone, str(zsk["id"]), "--destroy", want=4)
        assert "still published" in out and token.labels().count(label) == 2, out
        cli(live, "key", "delete", zone, str(zsk["id"]), "--destroy", "--force")
        assert label not in token.labels()
        cli(live, "dnssec", "enable", linked, "--existing-key", "pkcs11:token=ensign;object=mine")
        [key] = keys_of(live, linked)
        assert key["keystore"] == "hsm" and key["pkcs11Uri"].endswith(";type=private"), key
        cli(live, "policy", "create", "split", "--scheme", "ksk-zsk", "--ksk-keystore", "hsm")
        pol = live.req("GET", "/api/v1/servers/localhost/policies/split").json()
        assert pol["keystore"] == "default" and pol["kskKeystore"] == "hsm", pol
        for z in (zone, linked):
            judge(live, z, tmp_path, z)
