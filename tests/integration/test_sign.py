"""`ensign sign` against independent oracles: the signed zone must be accepted by BIND's
dnssec-verify, ldns-verify-zone, Knot's kzonecheck and dnspython's RRSIG validation, for every
algorithm, NSEC / NSEC3 / NSEC3 with opt-out, and KSK+ZSK or CSK key sets."""
import os
import subprocess
import time

import dns.dnssec
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(HERE, "..", "data", "zones", "tree.zone")

# A zone of our own: an insecure delegation below an empty non-terminal (only it creates the
# ENT, which opt-out may leave out), a delegation with glue at and below the cut, a DNAME,
# mixed case owner and rdata names, a CNAME and a wildcard below an ENT.
SMALL = """$ORIGIN Small.Test.
$TTL 7200
@        IN SOA ns1.small.test. Host.Master.small.test. 2024010101 3600 900 604800 600
@        NS   NS1
@        MX   10 Mail.Small.Test.
ns1      A    192.0.2.1
Mail     A    192.0.2.2
         AAAA 2001:db8::2
www      CNAME Mail
sub.ent  NS   ns.sub.ent
ns.sub.ent A  192.0.2.3
insec    NS   ns.insec
         NS   ns.example.net.
ns.insec A    192.0.2.4
sec      NS   ns1.example.net.
sec      DS   1 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
alias    DNAME target.example.net.
*.deep.wild TXT "wild under ENT"
_sip._tcp SRV 0 5 5060 Mail
txt      TXT  "a" "b c"
caa      CAA  0 issue "ca.example.net"
"""

ALGS = ["ecdsa-p256", "ecdsa-p384", "ed25519", "ed448", "rsa-2048", "RSASHA512"]
MODES = {
    "nsec": ["--nsec"],
    "nsec3": ["--nsec3"],
    "optout": ["--nsec3", "--opt-out"],
}
KEYSETS = {"kskzsk": ["ksk", "zsk"], "csk": ["csk"]}

# A fixed window around now, so that every validator sees valid signatures.
NOW = int(time.time())
INCEPTION = str(NOW - 3600)
EXPIRATION = str(NOW + 30 * 86400)


def run(*args, check=True):
    p = subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def tool(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{args[0]} failed:\n{p.stdout}\n{p.stderr}"
    return p


def keygen(zone, alg, roles, d):
    for role in roles:
        run("keygen", zone, "--algorithm", alg, "--role", role, "--dir", str(d))


@pytest.fixture(scope="module")
def small_zone(tmp_path_factory):
    p = tmp_path_factory.mktemp("small") / "small.zone"
    p.write_text(SMALL)
    return str(p)


def check_dnspython(path, origin):
    apex = dns.name.from_text(origin)
    z = dns.zone.from_file(path, origin=apex, relativize=False, check_origin=True)
    dnskey = z.get_rrset(apex, dns.rdatatype.DNSKEY)
    assert dnskey is not None
    keys = {apex: dnskey}
    signed = 0
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            if rds.rdtype == dns.rdatatype.RRSIG:
                continue
            sigs = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG, rds.rdtype)
            if sigs is None:
                continue
            rrset = dns.rrset.from_rdata_list(name, rds.ttl, list(rds))
            sigset = dns.rrset.from_rdata_list(name, sigs.ttl, list(sigs))
            dns.dnssec.validate(rrset, sigset, keys, now=NOW)
            signed += 1
    assert signed > 10


def check_all(path, origin, mode, roles):
    bare = origin.rstrip(".")
    # dnssec-verify assumes a KSK and a ZSK per algorithm unless told (-z) that the SEP flag
    # does not matter, which is the case for a CSK.
    args = ["dnssec-verify", "-o", bare]
    if roles == ["csk"]:
        args.append("-z")
    tool(*args, path)
    tool("ldns-verify-zone", path)
    tool("kzonecheck", "-o", bare, "--dnssec", "on", path)
    check_dnspython(path, origin)
    text = open(path).read()
    if mode == "nsec":
        assert "\tNSEC\t" in text and "NSEC3" not in text
    else:
        assert "\tNSEC3PARAM\t" in text and "\tNSEC\t" not in text


@pytest.mark.parametrize("keyset", list(KEYSETS))
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("alg", ALGS)
def test_sign_tree_zone_passes_oracles(tmp_path, alg, mode, keyset):
    keygen("example.", alg, KEYSETS[keyset], tmp_path / "keys")
    out = tmp_path / "signed.zone"
    run("sign", TREE, "--origin", "example.", "--keys", str(tmp_path / "keys"), *MODES[mode],
        "--inception", INCEPTION, "--expiration", EXPIRATION, "-o", str(out))
    check_all(str(out), "example.", mode, KEYSETS[keyset])


@pytest.mark.parametrize("keyset", list(KEYSETS))
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("alg", ALGS)
def test_sign_small_zone_passes_oracles(tmp_path, small_zone, alg, mode, keyset):
    keygen("small.test.", alg, KEYSETS[keyset], tmp_path / "keys")
    out = tmp_path / "signed.zone"
    run("sign", small_zone, "--keys", str(tmp_path / "keys"), *MODES[mode],
        "--inception", INCEPTION, "--expiration", EXPIRATION, "-o", str(out))
    check_all(str(out), "small.test.", mode, KEYSETS[keyset])


def test_sign_default_window_and_salted_nsec3(tmp_path, small_zone):
    """Default (jittered) validity window, a salt and iterations; the serial increments."""
    keygen("small.test.", "ecdsa-p256", ["ksk", "zsk"], tmp_path / "keys")
    out = tmp_path / "signed.zone"
    run("sign", small_zone, "--keys", str(tmp_path / "keys"), "--salt", "a1b2c3",
        "--iterations", "5", "--serial", "increment", "-o", str(out))
    tool("dnssec-verify", "-o", "small.test", str(out))
    tool("ldns-verify-zone", str(out))
    tool("kzonecheck", "-o", "small.test", "--dnssec", "on", str(out))
    text = open(out).read()
    assert "\tnsec3param\t1 0 5 a1b2c3\n" in text.lower()
    assert " 2024010102 " in text


def test_sign_fixed_window_is_reproducible(tmp_path, small_zone):
    keygen("small.test.", "ed25519", ["ksk", "zsk"], tmp_path / "keys")
    outs = []
    for i in range(2):
        out = tmp_path / f"signed{i}.zone"
        run("sign", small_zone, "--keys", str(tmp_path / "keys"), "--inception",
            "20240101000000", "--expiration", "20500101000000", "-o", str(out))
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert b"20500101000000 20240101000000" in outs[0]


def test_sign_many_names_does_not_depend_on_threads(tmp_path):
    """Enough names for several signing batches and several formatting chunks: 1, 3 and the
    default (all cores) give the same bytes with a deterministic algorithm, and the result
    verifies."""
    zone = tmp_path / "many.zone"
    with open(zone, "w") as f:
        f.write("$ORIGIN many.test.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\n"
                "ns A 192.0.2.53\n")
        for i in range(6000):
            f.write(f"h{i} A 10.0.{i >> 8 & 255}.{i & 255}\nh{i} TXT \"n{i}\"\n")
    keygen("many.test.", "ed25519", ["ksk", "zsk"], tmp_path / "keys")
    outs = []
    for threads in (["--threads", "1"], ["--threads", "3"], []):
        out = tmp_path / f"signed{len(outs)}.zone"
        run("sign", str(zone), "--keys", str(tmp_path / "keys"), "--inception", INCEPTION,
            "--expiration", EXPIRATION, *threads, "-o", str(out))
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    # 6001 names with NSEC3: two RRsets each plus the NSEC3, all signed by the ZSK.
    assert outs[0].count(b"\tRRSIG\t") > 3 * 6000
    run("verify", str(tmp_path / "signed0.zone"), "--origin", "many.test.", "--now",
        str(int(time.time())))


def test_sign_stdout_matches_output_file(tmp_path, small_zone):
    keygen("small.test.", "ed25519", ["csk"], tmp_path / "keys")
    out = tmp_path / "signed.zone"
    common = ["sign", small_zone, "--keys", str(tmp_path / "keys"), "--nsec",
              "--inception", INCEPTION, "--expiration", EXPIRATION]
    run(*common, "-o", str(out))
    assert run(*common).stdout == out.read_text()


def test_sign_refuses_without_keys_for_the_zone(tmp_path, small_zone):
    keygen("other.test.", "ed25519", ["csk"], tmp_path / "keys")
    p = run("sign", small_zone, "--keys", str(tmp_path / "keys"), check=False)
    assert p.returncode == 1
    assert "no keys for zone small.test." in p.stderr.lower()


@pytest.mark.parametrize("args", [
    ["--nsec", "--nsec3"],
    ["--nsec", "--opt-out"],
    ["--salt", "xyz"],
    ["--iterations", "70000"],
    ["--inception", "20240101000000"],
    ["--inception", "20990101000000", "--expiration", "20240101000000"],
    ["--serial", "sometimes"],
    ["--bogus"],
])
def test_sign_bad_options_are_usage_errors(tmp_path, small_zone, args):
    keygen("small.test.", "ed25519", ["csk"], tmp_path / "keys")
    p = run("sign", small_zone, "--keys", str(tmp_path / "keys"), *args, check=False)
    assert p.returncode == 2, p.stderr
    assert "ensign sign:" in p.stderr


def test_sign_missing_file_and_keydir_fail(tmp_path, small_zone):
    p = run("sign", str(tmp_path / "nope.zone"), "--keys", str(tmp_path), check=False)
    assert p.returncode == 1
    p = run("sign", small_zone, "--keys", str(tmp_path / "nodir"), check=False)
    assert p.returncode == 1
    p = run("sign", small_zone, check=False)
    assert p.returncode == 2


def test_resigning_a_signed_zone_replaces_old_dnssec_records(tmp_path, small_zone):
    """A signed zone signed again with other keys and NSEC instead of NSEC3: the old RRSIG,
    NSEC3, NSEC3PARAM and DNSKEY records are gone and the result verifies."""
    keygen("small.test.", "ecdsa-p384", ["csk"], tmp_path / "old")
    keygen("small.test.", "ed25519", ["ksk", "zsk"], tmp_path / "new")
    first = tmp_path / "first.zone"
    second = tmp_path / "second.zone"
    run("sign", small_zone, "--keys", str(tmp_path / "old"), "--inception", INCEPTION,
        "--expiration", EXPIRATION, "-o", str(first))
    run("sign", str(first), "--keys", str(tmp_path / "new"), "--nsec", "--inception", INCEPTION,
        "--expiration", EXPIRATION, "-o", str(second))
    check_all(str(second), "small.test.", "nsec", ["ksk", "zsk"])
    text = second.read_text()
    assert "NSEC3" not in text
    assert "\tRRSIG\tA 14 " not in text and "DNSKEY\t257 3 14" not in text


@pytest.mark.parametrize("threads", ["1", "3", "16"])
def test_sign_output_does_not_depend_on_threads(tmp_path, threads):
    keygen("example.", "ed25519", ["ksk", "zsk"], tmp_path / "keys")
    common = ["sign", TREE, "--origin", "example.", "--keys", str(tmp_path / "keys"),
              "--inception", INCEPTION, "--expiration", EXPIRATION]
    base = run(*common).stdout
    out = tmp_path / "signed.zone"
    run(*common, "--threads", threads, "-o", str(out))
    assert out.read_text() == base
    check_all(str(out), "example.", "nsec3", ["ksk", "zsk"])


def test_sign_bad_thread_count_is_usage_error(tmp_path, small_zone):
    keygen("small.test.", "ed25519", ["csk"], tmp_path / "keys")
    for bad in ["0", "65", "x"]:
        p = run("sign", small_zone, "--keys", str(tmp_path / "keys"), "--threads", bad,
                check=False)
        assert p.returncode == 2


@pytest.mark.parametrize("mode", list(MODES))
def test_sign_with_two_algorithms_signs_everything_with_both(tmp_path, small_zone, mode):
    keygen("small.test.", "ecdsa-p256", ["ksk", "zsk"], tmp_path / "keys")
    keygen("small.test.", "ed25519", ["csk"], tmp_path / "keys")
    out = tmp_path / "signed.zone"
    nsec3 = ["--salt", "-", "--iterations", "0"] if mode != "nsec" else []
    run("sign", small_zone, "--keys", str(tmp_path / "keys"), *MODES[mode], *nsec3,
        "--inception", INCEPTION, "--expiration", EXPIRATION, "-o", str(out))
    # -z: the ed25519 key is a CSK (see check_all).
    tool("dnssec-verify", "-z", "-o", "small.test", str(out))
    tool("ldns-verify-zone", str(out))
    tool("kzonecheck", "-o", "small.test", "--dnssec", "on", str(out))
    check_dnspython(str(out), "small.test.")
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    sigs = [f[4].split()[:2] for f in lines if f[3] == "RRSIG"]
    covered = {tuple(s) for s in sigs}
    for t in {s[0] for s in sigs}:
        assert (t, "13") in covered and (t, "15") in covered, t
