"""`ensign verify` against independent signers: zones signed by BIND (dnssec-keygen +
dnssec-signzone) and ldns (ldns-keygen + ldns-signzone), with NSEC, NSEC3 and NSEC3 opt-out,
must verify cleanly; the same files damaged in distinct ways must be refused (exit 1) with a
message that names the owner and type of the damage."""
import os
import re
import shutil
import subprocess
import time

import pytest

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(HERE, "..", "data", "zones", "tree.zone")

# A small zone with a secure and an insecure delegation (for opt-out), a wildcard, glue and
# an empty non-terminal.
SMALL = """$ORIGIN small.test.
$TTL 300
@       SOA ns hostmaster 2024010101 3600 900 604800 300
        NS  ns
        MX  10 mail
ns      A   192.0.2.1
mail    A   192.0.2.2
        AAAA 2001:db8::2
*.w     TXT "wildcard"
a.b.c   A   192.0.2.3
insecure NS ns.insecure
ns.insecure A 192.0.2.4
secure  NS  ns.example.net.
        DS  12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"""


def run(*args):
    return subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=120)


def tool(*args, cwd):
    exe = shutil.which(args[0])
    assert exe is not None, f"{args[0]} is not installed"
    r = subprocess.run([exe, *args[1:]], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert r.returncode == 0, f"{' '.join(args)}: {r.stderr}"
    return r.stdout.strip()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("verify")


def zone_source(work, name):
    """Copies the unsigned zone into its own directory; gives (dir, file, origin)."""
    d = work / name
    d.mkdir(exist_ok=True)
    if name.startswith("tree"):
        shutil.copy(TREE, d / "zone")
        origin = "example."
    else:
        (d / "zone").write_text(SMALL)
        origin = "small.test."
    return d, d / "zone", origin


def sign_bind(work, zone, mode, algs=("ECDSAP256SHA256",), flags=()):
    d, src, origin = zone_source(work, f"{zone}-bind-{mode}-{'-'.join(algs)}{''.join(flags)}")
    keys = []
    for alg in algs:
        keys.append(tool("dnssec-keygen", "-q", "-a", alg, "-f", "KSK", origin, cwd=d))
        keys.append(tool("dnssec-keygen", "-q", "-a", alg, origin, cwd=d))
    with open(src, "a") as f:
        for k in keys:
            f.write((d / f"{k}.key").read_text())
    extra = {"nsec": [], "nsec3": ["-3", "aabbccdd", "-H", "5"], "optout": ["-3", "-", "-A"]}[mode]
    out = d / "signed"
    tool("dnssec-signzone", "-q", "-O", "full", *flags, *extra, "-o", origin, "-f", str(out), str(src),
         *keys, cwd=d)
    return out, origin


def sign_ldns(work, zone, mode):
    d, src, origin = zone_source(work, f"{zone}-ldns-{mode}")
    ksk = tool("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin, cwd=d)
    zsk = tool("ldns-keygen", "-a", "ECDSAP256SHA256", origin, cwd=d)
    extra = {"nsec": [], "nsec3": ["-n", "-t", "3", "-s", "beef"], "optout": ["-n", "-p"]}[mode]
    out = d / "signed"
    tool("ldns-signzone", *extra, "-o", origin, "-f", str(out), str(src), ksk, zsk, cwd=d)
    return out, origin


def verify(path, *extra):
    return run("verify", str(path), *extra)


def records(path):
    """The signed file as one record per line (ldns writes one line each already; BIND with
    -O full too)."""
    return [l for l in path.read_text().splitlines() if l.strip() and not l.startswith(";")]


def fields(line):
    return line.split()


def write_damaged(path, lines, name):
    out = path.parent / name
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize("zone", ["tree", "small"])
@pytest.mark.parametrize("mode", ["nsec", "nsec3", "optout"])
def test_verify_accepts_bind_signed_zone(work, zone, mode):
    path, origin = sign_bind(work, zone, mode)
    r = verify(path, "--origin", origin)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "0 faults" in r.stdout


@pytest.mark.parametrize("zone", ["tree", "small"])
@pytest.mark.parametrize("mode", ["nsec", "nsec3", "optout"])
def test_verify_accepts_ldns_signed_zone(work, zone, mode):
    path, origin = sign_ldns(work, zone, mode)
    r = verify(path, "--origin", origin)
    assert r.returncode == 0, r.stderr + r.stdout


def test_verify_accepts_two_algorithms(work):
    path, origin = sign_bind(work, "small", "nsec", algs=("ECDSAP256SHA256", "RSASHA256"))
    r = verify(path)
    assert r.returncode == 0, r.stderr + r.stdout


def test_verify_accepts_ed25519(work):
    path, origin = sign_bind(work, "tree", "nsec3", algs=("ED25519",))
    r = verify(path)
    assert r.returncode == 0, r.stderr + r.stdout


# ---- damage ----

@pytest.fixture(scope="module", params=["bind-nsec", "bind-nsec3", "ldns-nsec", "ldns-nsec3"])
def signed(request, work):
    signer, mode = request.param.split("-")
    if signer == "bind":
        return sign_bind(work, "tree", mode)
    return sign_ldns(work, "tree", mode)


def find(lines, owner, rtype, covered=None):
    for i, l in enumerate(lines):
        f = fields(l)
        if len(f) >= 5 and f[0].lower() == owner and f[3] == rtype and (
                covered is None or f[4] == covered):
            return i
    raise AssertionError(f"no {owner} {rtype} {covered or ''} in the signed file")


def assert_fault(r, *words):
    out = r.stderr + r.stdout
    assert r.returncode == 1, out
    lines = [l for l in r.stderr.splitlines() if all(w in l for w in words)]
    assert lines, f"no fault line naming {words}:\n{out}"


def test_verify_reports_flipped_signature_byte(signed):
    path, origin = signed
    lines = records(path)
    i = find(lines, "ns1.example.", "RRSIG", "A")
    f = fields(lines[i])
    sig = f[-1]
    # Flip one character inside the last base64 chunk, away from the padding.
    c = sig[2]
    f[-1] = sig[:2] + ("A" if c != "A" else "B") + sig[3:]
    lines[i] = " ".join(f)
    r = verify(write_damaged(path, lines, "flipped"))
    assert_fault(r, "ns1.example. A", "does not verify")


def test_verify_reports_missing_denial_record(signed):
    path, origin = signed
    lines = records(path)
    nsec3 = any(fields(l)[3] == "NSEC3PARAM" for l in lines if len(fields(l)) > 3)
    if nsec3:
        # The NSEC3 of mail.example.
        h = subprocess.run(["knsec3hash", *nsec3params(lines), "mail.example."],
                           capture_output=True, text=True, check=True).stdout.split()[0]
        owner = f"{h}.example."
        i = find(lines, owner, "NSEC3")
        del lines[i]
        r = verify(write_damaged(path, lines, "nodenial"))
        assert_fault(r, "mail.example. NSEC3", "no NSEC3")
    else:
        i = find(lines, "mail.example.", "NSEC")
        del lines[i]
        r = verify(write_damaged(path, lines, "nodenial"))
        assert_fault(r, "mail.example. NSEC", "no NSEC record")


def nsec3params(lines):
    i = next(i for i, l in enumerate(lines) if len(fields(l)) > 3 and fields(l)[3] == "NSEC3PARAM")
    f = fields(lines[i])
    return [f[7] if f[7] != "-" else "-", f[4], f[6]]


def test_verify_reports_changed_rdata(signed):
    path, origin = signed
    lines = records(path)
    i = find(lines, "mail.example.", "A")
    lines[i] = lines[i].replace("192.0.2.25", "192.0.2.26")
    r = verify(write_damaged(path, lines, "changed"))
    assert_fault(r, "mail.example. A", "does not verify")


def test_verify_reports_removed_rrsig(signed):
    path, origin = signed
    lines = records(path)
    del lines[find(lines, "ns2.example.", "RRSIG", "AAAA")]
    r = verify(write_damaged(path, lines, "unsigned"))
    assert_fault(r, "ns2.example. AAAA", "no RRSIG of algorithm 13")


def test_verify_reports_expired_signatures(signed):
    path, origin = signed
    later = str(int(time.time()) + 400 * 86400)
    r = verify(path, "--now", later)
    assert_fault(r, "example. SOA", "expired")
    r = verify(path, "--now", "20000101000000")
    assert_fault(r, "example. SOA", "not yet valid")
    assert verify(path, "--now", str(int(time.time()))).returncode == 0


def test_verify_reports_missing_sep_signature(work):
    # -z: every key signs every RRset, so the DNSKEY RRset carries a KSK and a ZSK signature.
    path, origin = sign_bind(work, "small", "nsec", flags=("-z",))
    lines = records(path)
    ksk_tags = set()
    for k in path.parent.glob("K*.key"):
        rec = next(l for l in k.read_text().splitlines() if "DNSKEY" in l and not l.startswith(";"))
        if rec.split()[rec.split().index("DNSKEY") + 1] == "257":
            ksk_tags.add(re.search(r"\+(\d+)\.key$", k.name).group(1).lstrip("0"))
    assert ksk_tags
    kept = [l for l in lines
            if not (fields(l)[3] == "RRSIG" and fields(l)[4] == "DNSKEY"
                    and fields(l)[10] in ksk_tags)]
    assert len(kept) == len(lines) - 1
    assert verify(path).returncode == 0
    r = verify(write_damaged(path, kept, "nosep"))
    assert_fault(r, "small.test. DNSKEY", "SEP")


def test_verify_usage_errors():
    assert run("verify").returncode == 2
    assert run("verify", "x", "--now", "yesterday").returncode == 2
    assert run("verify", "x", "--bogus").returncode == 2


def test_verify_unsigned_zone_fails():
    r = run("verify", TREE)
    assert r.returncode == 1
    assert "no DNSKEY RRset" in r.stderr


def test_verify_reports_wrong_nsec_bitmap(work):
    path, origin = sign_bind(work, "tree", "nsec")
    lines = records(path)
    i = find(lines, "ns1.example.", "NSEC")
    lines[i] = lines[i].replace(" A RRSIG NSEC", " A MX RRSIG NSEC")
    r = verify(write_damaged(path, lines, "bitmap"))
    assert_fault(r, "ns1.example. NSEC", "lists MX")
    assert_fault(r, "ns1.example. NSEC", "does not verify")


def test_verify_reports_broken_nsec3_next_hash(work):
    path, origin = sign_bind(work, "tree", "nsec3")
    lines = records(path)
    i = next(i for i, l in enumerate(lines) if len(fields(l)) > 3 and fields(l)[3] == "NSEC3")
    f = fields(lines[i])
    nxt = f[8]
    f[8] = nxt[:-1] + ("0" if nxt[-1] != "0" else "1")
    lines[i] = " ".join(f)
    r = verify(write_damaged(path, lines, "nexthash"))
    assert_fault(r, f[0] + " NSEC3", "NSEC3 next hashed owner")


def test_verify_reports_insecure_delegation_without_opt_out(work):
    path, origin = sign_bind(work, "small", "optout")
    lines = records(path)
    damaged = []
    for l in lines:
        f = fields(l)
        if len(f) > 5 and f[3] == "NSEC3" and f[5] == "1":
            f[5] = "0"  # clear the opt-out flag
            l = " ".join(f)
        damaged.append(l)
    r = verify(write_damaged(path, damaged, "nooptout"))
    assert_fault(r, "insecure.small.test. NSEC3", "no NSEC3 for this name")


def test_verify_reports_nsec3_of_unknown_name(work):
    path, origin = sign_bind(work, "tree", "nsec3")
    lines = records(path)
    # Remove the only record of mail.example.: its NSEC3 now matches no name.
    del lines[find(lines, "mail.example.", "A")]
    del lines[find(lines, "mail.example.", "RRSIG", "A")]
    r = verify(write_damaged(path, lines, "stale"))
    assert_fault(r, "NSEC3", "matches no name")


def test_verify_reports_ttl_differing_from_original_ttl(work):
    path, origin = sign_bind(work, "tree", "nsec")
    lines = records(path)
    i = find(lines, "mail.example.", "A")
    f = fields(lines[i])
    assert f[1] == "3600"
    f[1] = "7200"
    lines[i] = " ".join(f)
    r = verify(write_damaged(path, lines, "ttl"))
    assert_fault(r, "mail.example. A", "original TTL 3600 differs from the RRset TTL 7200")
