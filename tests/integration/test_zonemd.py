"""`ensign sign --zonemd` against independent oracles: the ZONEMD record (RFC 8976, SIMPLE,
SHA-384) of the signed zone must be accepted by ldns-verify-zone -Z and dnspython's
verify_digest, the zone must stay valid for dnssec-verify and kzonecheck, and a change to
unsigned glue must be caught by the digest alone."""
import os
import subprocess
import time

import dns.name
import dns.rdatatype
import dns.zone
import pytest

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(HERE, "..", "data", "zones", "tree.zone")
A1 = os.path.join(HERE, "..", "data", "zones", "rfc8976-a1.zone")

NOW = int(time.time())
INCEPTION = str(NOW - 3600)
EXPIRATION = str(NOW + 30 * 86400)

MODES = {"nsec": ["--nsec"], "nsec3": ["--nsec3"], "optout": ["--nsec3", "--opt-out"]}
KEYSETS = {"csk-ed25519": ("ed25519", ["csk"]), "kskzsk-p256": ("ecdsa-p256", ["ksk", "zsk"])}


def run(*args, check=True):
    p = subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def tool(*args, ok=True):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=300)
    if ok:
        assert p.returncode == 0, f"{args[0]} failed:\n{p.stdout}\n{p.stderr}"
    else:
        assert p.returncode != 0, f"{args[0]} accepted a bad zone:\n{p.stdout}\n{p.stderr}"
    return p


def sign(tmp_path, mode, keyset, *extra):
    alg, roles = KEYSETS[keyset]
    keys = tmp_path / "keys"
    for role in roles:
        run("keygen", "example.", "--algorithm", alg, "--role", role, "--dir", str(keys))
    out = tmp_path / "signed.zone"
    run("sign", TREE, "--origin", "example.", "--keys", str(keys), *MODES[mode], "--inception",
        INCEPTION, "--expiration", EXPIRATION, "--zonemd", *extra, "-o", str(out))
    return out


def load(path):
    return dns.zone.from_file(str(path), origin=dns.name.from_text("example."),
                              relativize=False, check_origin=True)


@pytest.mark.parametrize("keyset", list(KEYSETS))
@pytest.mark.parametrize("mode", list(MODES))
def test_sign_zonemd_passes_oracles(tmp_path, mode, keyset):
    out = sign(tmp_path, mode, keyset, "--serial", "increment")
    z = load(out)
    apex = dns.name.from_text("example.")
    zmd = z.get_rdataset(apex, dns.rdatatype.ZONEMD)
    assert zmd is not None and len(zmd) == 1
    rd = zmd[0]
    soa = z.get_rdataset(apex, dns.rdatatype.SOA)[0]
    assert (rd.serial, rd.scheme, rd.hash_algorithm, len(rd.digest)) == (soa.serial, 1, 1, 48)
    assert soa.serial == 2
    sigs = z.get_rdataset(apex, dns.rdatatype.RRSIG, dns.rdatatype.ZONEMD)
    assert sigs is not None and len(sigs) == 1
    z.verify_digest()
    # -ZZ: a valid ZONEMD and a validly signed zone, its RRSIG included.
    tool("ldns-verify-zone", "-ZZ", str(out))
    # The apex NSEC/NSEC3 bitmap names ZONEMD, or the validators below would refuse it.
    tool("dnssec-verify", "-z", "-o", "example.", str(out))
    tool("kzonecheck", "-o", "example.", "--dnssec", "on", str(out))


def test_zonemd_catches_a_changed_glue_record(tmp_path):
    out = sign(tmp_path, "nsec", "csk-ed25519")
    text = out.read_text()
    assert text.count("192.0.2.53") == 1
    bad = tmp_path / "bad.zone"
    bad.write_text(text.replace("192.0.2.53", "192.0.2.99"))
    # Glue is not signed: DNSSEC alone still accepts the zone, the digest does not.
    tool("dnssec-verify", "-z", "-o", "example.", str(bad))
    tool("ldns-verify-zone", "-ZZ", str(bad), ok=False)
    with pytest.raises(dns.zone.DigestVerificationFailure):
        load(bad).verify_digest()


def test_sign_without_zonemd_adds_none(tmp_path):
    keys = tmp_path / "keys"
    run("keygen", "example.", "--algorithm", "ed25519", "--role", "csk", "--dir", str(keys))
    out = tmp_path / "signed.zone"
    run("sign", TREE, "--origin", "example.", "--keys", str(keys), "--inception", INCEPTION,
        "--expiration", EXPIRATION, "-o", str(out))
    assert "\tZONEMD\t" not in out.read_text()


def test_rfc8976_a1_fixture_agrees_with_oracles():
    # The fixture the unit test digests is the RFC's own example; the oracles agree with it.
    tool("ldns-verify-zone", "-Z", A1)
    load(A1).verify_digest()


def test_sign_zonemd_replaces_an_input_zonemd(tmp_path):
    keys = tmp_path / "keys"
    run("keygen", "example.", "--algorithm", "ed25519", "--role", "csk", "--dir", str(keys))
    out = tmp_path / "signed.zone"
    run("sign", A1, "--origin", "example.", "--keys", str(keys), "--inception", INCEPTION,
        "--expiration", EXPIRATION, "--zonemd", "-o", str(out))
    z = load(out)
    zmd = z.get_rdataset(dns.name.from_text("example."), dns.rdatatype.ZONEMD)
    assert len(zmd) == 1
    assert zmd[0].digest.hex() != "c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3" \
        "a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c"
    z.verify_digest()
    tool("ldns-verify-zone", "-ZZ", str(out))


def test_sign_usage_mentions_zonemd():
    p = run("sign", check=False)
    assert p.returncode != 0 and "--zonemd" in p.stderr
