"""`ensign keygen` and `ensign ds` against dnspython: for every algorithm the DS that ensign
prints must equal dns.dnssec.make_ds() computed from the DNSKEY line of the .key file, and
the key files must have the modes the keystore promises (0600 private key, 0700 directory)."""
import os
import stat
import subprocess

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")

# (algorithm arguments, DNSSEC algorithm number, role); every algorithm in every role except
# the slow big RSA sizes, which get one role each.
CASES = [
    (args, alg, role)
    for args, alg in [
        (["ecdsa-p256"], 13),
        (["ecdsa-p384"], 14),
        (["ed25519"], 15),
        (["ed448"], 16),
        (["rsa-2048"], 8),
        (["RSASHA512"], 10),
    ]
    for role in ["ksk", "zsk", "csk"]
] + [
    (["rsa-3072"], 8, "ksk"),
    (["rsa-4096"], 8, "zsk"),
    (["RSASHA512", "--bits", "3072"], 10, "csk"),
]


def run(*args):
    return subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=120)


def record_rdata(line, rtype):
    """Splits a zone-file line "owner ttl class TYPE rdata" into (owner, rdata)."""
    fields = line.split()
    i = fields.index(rtype)
    owner = dns.name.from_text(fields[0])
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype),
                             " ".join(fields[i + 1:]))
    return owner, rd


def read_key_file(path):
    role = None
    record = None
    with open(path) as f:
        for line in f:
            if line.startswith("; role:"):
                role = line.split(":", 1)[1].strip()
            elif line.strip() and not line.startswith(";"):
                assert record is None, "one record per key file"
                record = line
    assert record is not None
    owner, rd = record_rdata(record, "DNSKEY")
    return owner, rd, role


@pytest.mark.parametrize("alg_args,alg,role", CASES,
                         ids=["-".join(c[0]) + "-" + c[2] for c in CASES])
def test_keygen_then_ds_matches_dnspython(tmp_path, alg_args, alg, role):
    keydir = tmp_path / "keys"
    zone = "Example.COM"
    r = run("keygen", zone, "--algorithm", *alg_args, "--role", role, "--dir", str(keydir))
    assert r.returncode == 0, "ensign keygen failed (is it dispatched by src/cli/main.c?): " + r.stderr
    lines = r.stdout.splitlines()
    base = lines[0]
    assert base.startswith(f"example.com+{alg:03d}+")

    # Modes: the directory 0700, the private key 0600, nothing else writable by others.
    assert stat.S_IMODE(os.stat(keydir).st_mode) == 0o700
    pem = keydir / (base + ".private.pem")
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    assert pem.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    keyfile = keydir / (base + ".key")
    assert stat.S_IMODE(os.stat(keyfile).st_mode) & 0o022 == 0

    owner, dnskey, file_role = read_key_file(keyfile)
    assert owner == dns.name.from_text("example.com.")
    assert file_role == role
    assert dnskey.algorithm == alg
    assert dnskey.flags == (256 if role == "zsk" else 257)
    assert dnskey.protocol == 3
    if "--bits" in alg_args:
        # RFC 3110: 1-octet exponent length, exponent, modulus.
        assert (len(dnskey.key) - 1 - dnskey.key[0]) * 8 == int(alg_args[-1])
    tag = dns.dnssec.key_id(dnskey)
    assert base == f"example.com+{alg:03d}+{tag:05d}"

    # keygen prints the same DNSKEY, and for KSK/CSK the SHA-256 DS.
    printed_owner, printed = record_rdata(lines[1], "DNSKEY")
    assert printed_owner == owner and printed == dnskey
    want = dns.dnssec.make_ds(owner, dnskey, "SHA256")
    if role == "zsk":
        assert len(lines) == 2
    else:
        assert record_rdata(lines[2], "DS")[1] == want

    for path in (keyfile, keydir / base, pem):
        r = run("ds", str(path))
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        ds_lines = r.stdout.splitlines()
        assert len(ds_lines) == 1
        ds_owner, ds = record_rdata(ds_lines[0], "DS")
        assert ds_owner == owner
        assert ds == want
        assert ds.key_tag == tag

    r = run("ds", str(keyfile), "--digest", "sha384", "--digest", "sha1")
    assert r.returncode == 0, r.stderr
    got = [record_rdata(x, "DS")[1] for x in r.stdout.splitlines()]
    assert got == [dns.dnssec.make_ds(owner, dnskey, "SHA384"),
                   # dnspython's default policy refuses to create SHA-1 DS; validating mode
                   # computes the same digest.
                   dns.dnssec.make_ds(owner, dnskey, "SHA1", validating=True)]
    assert "SHA-1" in r.stderr and "warning" in r.stderr


def test_keygen_refuses_weak_algorithms(tmp_path):
    for name in ["5", "RSASHA1", "7", "RSASHA1-NSEC3-SHA1", "1", "rsa-1024", "nonsense"]:
        r = run("keygen", "example.com", "--algorithm", name, "--dir", str(tmp_path / "k"))
        assert r.returncode == 2, name
        assert r.stderr.strip(), name
        assert not (tmp_path / "k").exists()


def test_keygen_refuses_open_directory(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    r = run("keygen", "example.com", "--dir", str(d))
    assert r.returncode == 1
    assert "0777" in r.stderr
    assert list(d.iterdir()) == []


def test_usage_errors(tmp_path):
    assert run("keygen").returncode == 2
    assert run("keygen", "example.com").returncode == 2  # no --dir
    assert run("keygen", "example.com", "--role", "boss", "--dir", str(tmp_path)).returncode == 2
    assert run("keygen", "example.com", "--algorithm", "ed25519", "--bits", "2048",
               "--dir", str(tmp_path)).returncode == 2
    assert run("keygen", "example.com", "--algorithm", "RSASHA512", "--bits", "1024",
               "--dir", str(tmp_path)).returncode == 2
    assert run("ds").returncode == 2
    assert run("ds", "x.key", "--digest", "md5").returncode == 2
    r = run("ds", str(tmp_path / "missing.key"))
    assert r.returncode == 1
    assert "missing.key" in r.stderr


def test_ds_refuses_corrupt_key_file(tmp_path):
    d = tmp_path / "keys"
    r = run("keygen", "example.com", "--dir", str(d))
    assert r.returncode == 0, r.stderr
    keyfile = d / (r.stdout.splitlines()[0] + ".key")
    text = keyfile.read_text()
    keyfile.write_text(text[: len(text) // 2])
    r = run("ds", str(keyfile))
    assert r.returncode == 1
    assert str(keyfile) in r.stderr
