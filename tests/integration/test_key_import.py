"""`ensign key-import` of BIND key pairs: for every algorithm ensign signs with, a pair made by
BIND's dnssec-keygen is imported, `ensign ds` of the imported key must equal dnssec-dsfromkey
of the original (same key tag, same digest), the keystore files must have the promised modes,
and a zone signed with the imported keys must pass dnssec-verify. Broken or foreign inputs
must fail with a clear message and no crash."""
import os
import re
import shutil
import stat
import subprocess

import pytest

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = os.path.join(ROOT, "tests", "data", "zones", "tree.zone")

# (dnssec-keygen algorithm, extra arguments, DNSSEC algorithm number)
ALGS = [
    ("RSASHA256", ["-b", "2048"], 8),
    ("RSASHA512", ["-b", "2048"], 10),
    ("ECDSAP256SHA256", [], 13),
    ("ECDSAP384SHA384", [], 14),
    ("ED25519", [], 15),
    ("ED448", [], 16),
]


def run(*args):
    return subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=120)


def keygen(tmp, alg, extra, ksk):
    """Makes a BIND key pair in tmp and returns its path without suffix."""
    args = ["dnssec-keygen", "-q", "-a", alg, *extra, "-K", str(tmp)]
    if ksk:
        args += ["-f", "KSK"]
    p = subprocess.run([*args, "example."], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return os.path.join(str(tmp), p.stdout.strip())


def ds_fields(text):
    """The key tag, algorithm, digest type and digest of the DS lines in text."""
    out = []
    for line in text.splitlines():
        m = re.search(r"\bDS\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9A-Fa-f ]+)$", line.strip())
        if m:
            out.append((int(m.group(1)), int(m.group(2)), int(m.group(3)),
                        m.group(4).replace(" ", "").upper()))
    return out


def bind_ds(base):
    p = subprocess.run(["dnssec-dsfromkey", "-2", base + ".key"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    fields = ds_fields(p.stdout)
    assert len(fields) == 1, p.stdout
    return fields[0]


def import_key(kfile, keydir, *extra):
    p = run("key-import", kfile, "--dir", str(keydir), *extra)
    assert p.returncode == 0, p.stderr
    return os.path.join(str(keydir), p.stdout.splitlines()[0])


def check_modes(keydir, base):
    assert stat.S_IMODE(os.stat(keydir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(base + ".private.pem").st_mode) == 0o600


def ensign_ds(base):
    p = run("ds", base + ".key")
    assert p.returncode == 0, p.stderr
    fields = ds_fields(p.stdout)
    assert len(fields) == 1, p.stdout
    return fields[0]


def sign_and_verify(tmp, keydir):
    out = os.path.join(str(tmp), "signed.zone")
    p = run("sign", TREE, "--origin", "example.", "--keys", str(keydir), "--nsec", "-o", out)
    assert p.returncode == 0, p.stderr
    v = subprocess.run(["dnssec-verify", "-z", "-o", "example.", out], capture_output=True,
                       text=True, timeout=300)
    assert v.returncode == 0, v.stdout + v.stderr


@pytest.mark.parametrize("alg,extra,num", ALGS, ids=[a[0] for a in ALGS])
def test_imported_ksk_and_zsk_keep_ds_and_sign_a_verifiable_zone(tmp_path, alg, extra, num):
    ksk = keygen(tmp_path, alg, extra, True)
    zsk = keygen(tmp_path, alg, extra, False)
    keydir = tmp_path / "keys"
    # The KSK by its .key path, the ZSK by its .private path: both forms are accepted.
    ksk_new = import_key(ksk + ".key", keydir)
    zsk_new = import_key(zsk + ".private", keydir)
    for old, new in [(ksk, ksk_new), (zsk, zsk_new)]:
        check_modes(keydir, new)
        want = bind_ds(old)
        assert want[1] == num
        assert ensign_ds(new) == want
        assert new.endswith("+%03d+%05d" % (num, want[0]))
    with open(ksk_new + ".key") as f:
        assert "ksk" in f.read()
    with open(zsk_new + ".key") as f:
        assert "zsk" in f.read()
    sign_and_verify(tmp_path, keydir)


@pytest.mark.parametrize("alg,extra,num", ALGS[2:4], ids=[a[0] for a in ALGS[2:4]])
def test_imported_csk_by_base_name_signs_alone(tmp_path, alg, extra, num):
    key = keygen(tmp_path, alg, extra, True)
    keydir = tmp_path / "keys"
    new = import_key(key, keydir, "--role", "csk")
    with open(new + ".key") as f:
        assert "csk" in f.read()
    assert ensign_ds(new) == bind_ds(key)
    sign_and_verify(tmp_path, keydir)


def test_import_prints_no_private_material(tmp_path):
    key = keygen(tmp_path, "ECDSAP256SHA256", [], True)
    with open(key + ".private") as f:
        secret = [l.split(":", 1)[1].strip() for l in f if l.startswith("PrivateKey")][0]
    p = run("key-import", key, "--dir", str(tmp_path / "keys"))
    assert p.returncode == 0, p.stderr
    assert secret not in p.stdout and secret not in p.stderr


# ---- broken and refused inputs ----


def fail(kfile, keydir, *extra):
    p = run("key-import", kfile, "--dir", str(keydir), *extra)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr
    assert not os.path.exists(keydir) or os.listdir(keydir) == []
    return p.stderr


def rewrite_private(base, fn):
    path = base + ".private"
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(fn(text))
    os.chmod(path, 0o600)


@pytest.mark.parametrize("alg,extra", [("ECDSAP256SHA256", []), ("RSASHA256", ["-b", "2048"]),
                                       ("ED25519", [])])
def test_truncated_private_file_is_refused(tmp_path, alg, extra):
    key = keygen(tmp_path, alg, extra, True)
    with open(key + ".private") as f:
        text = f.read()
    for cut in [0, 10, 30, len(text) // 2, len(text) - 120]:
        rewrite_private(key, lambda t, cut=cut: text[:cut])
        err = fail(key, tmp_path / "keys")
        assert "private" in err.lower() or "field" in err.lower() or "base64" in err.lower()


def test_missing_private_key_field_is_refused(tmp_path):
    key = keygen(tmp_path, "ECDSAP256SHA256", [], True)
    rewrite_private(key, lambda t: "".join(l for l in t.splitlines(True)
                                           if not l.startswith("PrivateKey")))
    err = fail(key, tmp_path / "keys")
    assert "missing field PrivateKey" in err


def test_missing_rsa_field_is_refused(tmp_path):
    key = keygen(tmp_path, "RSASHA256", ["-b", "2048"], True)
    rewrite_private(key, lambda t: "".join(l for l in t.splitlines(True)
                                           if not l.startswith("Coefficient")))
    assert "missing field Coefficient" in fail(key, tmp_path / "keys")


def test_bad_base64_is_refused(tmp_path):
    key = keygen(tmp_path, "ED25519", [], True)
    rewrite_private(key, lambda t: re.sub(r"PrivateKey: .*", "PrivateKey: ***not-base64***", t))
    assert "base64" in fail(key, tmp_path / "keys")


def test_private_with_other_algorithm_is_refused(tmp_path):
    k13 = keygen(tmp_path, "ECDSAP256SHA256", [], True)
    k15 = keygen(tmp_path, "ED25519", [], True)
    shutil.copy(k15 + ".private", k13 + ".private")
    os.chmod(k13 + ".private", 0o600)
    err = fail(k13, tmp_path / "keys")
    assert "algorithm 15" in err and "algorithm 13" in err


def test_algorithm_line_changed_is_refused(tmp_path):
    key = keygen(tmp_path, "ECDSAP384SHA384", [], True)
    rewrite_private(key, lambda t: t.replace("Algorithm: 14 (ECDSAP384SHA384)",
                                             "Algorithm: 13 (ECDSAP256SHA256)"))
    assert "do not belong together" in fail(key, tmp_path / "keys")


def test_private_half_of_another_key_is_refused(tmp_path):
    a = keygen(tmp_path, "ECDSAP256SHA256", [], True)
    b = keygen(tmp_path, "ECDSAP256SHA256", [], True)
    shutil.copy(b + ".private", a + ".private")
    os.chmod(a + ".private", 0o600)
    assert "not the private half" in fail(a, tmp_path / "keys")


def test_rsasha1_key_is_refused(tmp_path):
    key = keygen(tmp_path, "RSASHA1", ["-b", "2048"], True)
    err = fail(key, tmp_path / "keys")
    assert "RSASHA1" in err and "refused" in err


def test_rsasha1_private_under_rsasha256_key_is_refused(tmp_path):
    key = keygen(tmp_path, "RSASHA256", ["-b", "2048"], True)
    rewrite_private(key, lambda t: t.replace("Algorithm: 8 (RSASHA256)", "Algorithm: 5 (RSASHA1)"))
    err = fail(key, tmp_path / "keys")
    assert "RSASHA1" in err and "refused" in err


def test_role_that_changes_the_flags_is_refused(tmp_path):
    ksk = keygen(tmp_path, "ED25519", [], True)
    zsk = keygen(tmp_path, "ED25519", [], False)
    assert "flags 257" in fail(ksk, tmp_path / "keys", "--role", "zsk")
    assert "flags 256" in fail(zsk, tmp_path / "keys", "--role", "csk")


def test_exposed_private_file_is_refused(tmp_path):
    key = keygen(tmp_path, "ED25519", [], True)
    os.chmod(key + ".private", 0o644)
    assert "mode 0644" in fail(key, tmp_path / "keys")


def test_missing_files_are_refused(tmp_path):
    key = keygen(tmp_path, "ED25519", [], True)
    os.remove(key + ".private")
    assert "cannot open" in fail(key, tmp_path / "keys")
    assert "cannot open" in fail(str(tmp_path / "Kexample.+015+00001"), tmp_path / "keys")


def test_garbage_private_file_is_refused(tmp_path):
    key = keygen(tmp_path, "ECDSAP256SHA256", [], True)
    rewrite_private(key, lambda t: "\x00\x01garbage\n" * 50)
    fail(key, tmp_path / "keys")
    rewrite_private(key, lambda t: "Algorithm: 13\nPrivateKey: AAAA\n")
    assert "Private-key-format" in fail(key, tmp_path / "keys")


def test_importing_twice_is_refused(tmp_path):
    key = keygen(tmp_path, "ED25519", [], True)
    keydir = tmp_path / "keys"
    import_key(key, keydir)
    p = run("key-import", key, "--dir", str(keydir))
    assert p.returncode == 1 and p.stderr


def test_usage_errors(tmp_path):
    assert run("key-import").returncode == 2
    assert run("key-import", "Kx", "--dir", str(tmp_path), "--role", "boss").returncode == 2
    assert run("key-import", "Kx").returncode == 2


# ---- key files as other signers write them ----


def ldns_keygen(tmp, alg, extra, ksk):
    """Makes an ldns key pair in tmp (ldns-keygen writes into the current directory)."""
    args = ["ldns-keygen", "-a", alg, *extra] + (["-k"] if ksk else []) + ["example."]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=str(tmp))
    assert p.returncode == 0, p.stderr
    return os.path.join(str(tmp), p.stdout.strip())


@pytest.mark.parametrize("alg,extra,num", [("RSASHA256", ["-b", "2048"], 8),
                                           ("ECDSAP256SHA256", [], 13), ("ED25519", [], 15)])
def test_ldns_keygen_pairs_import_with_their_ds(tmp_path, alg, extra, num):
    """ldns writes the .key with a trailing ";{id = N (ksk), size = Nb}" and the .private as
    v1.2; its own ldns-key2ds gives the DS the imported key must keep."""
    ksk = ldns_keygen(tmp_path, alg, extra, True)
    zsk = ldns_keygen(tmp_path, alg, extra, False)
    with open(ksk + ".key") as f:
        assert ";{id = " in f.read()
    keydir = tmp_path / "keys"
    new = import_key(ksk + ".key", keydir)
    import_key(zsk, keydir)
    p = subprocess.run(["ldns-key2ds", "-n", "-2", ksk + ".key"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    want = ds_fields(p.stdout)[0]
    assert want[1] == num and ensign_ds(new) == want
    sign_and_verify(tmp_path, keydir)


def test_bind_key_file_rewritten_by_hand_still_imports(tmp_path):
    """The record split over lines in parentheses, comments inside, no class, a TTL, and the
    BIND comment lines above: the zone-file reader takes it and the key tag is kept."""
    key = keygen(tmp_path, "RSASHA256", ["-b", "2048"], True)
    with open(key + ".key") as f:
        lines = f.read().splitlines()
    comments = [l for l in lines if l.startswith(";")]
    owner, _cls, _type, flags, proto, alg, *b64 = [l for l in lines if not l.startswith(";")][0] \
        .split()
    half = len(b64) // 2
    text = "\n".join(comments + [
        f"{owner} 86400 DNSKEY {flags} {proto} {alg} ( ; the public key follows",
        "    " + " ".join(b64[:half]) + " ; first half",
        "    " + " ".join(b64[half:]) + " )",
    ]) + "\n"
    with open(key + ".key", "w") as f:
        f.write(text)
    want = bind_ds(key)
    new = import_key(key, tmp_path / "keys")
    assert ensign_ds(new) == want


def test_key_file_errors_name_file_line_and_column(tmp_path):
    key = keygen(tmp_path, "ECDSAP256SHA256", [], True)
    with open(key + ".key") as f:
        text = f.read()
    with open(key + ".key", "w") as f:
        f.write(text.replace(" DNSKEY 257 3 13 ", " DNSKEY 257 3 13 ( "))
    err = fail(key, tmp_path / "keys")
    assert re.search(r"\.key:\d+:\d+: ", err), err


def test_private_format_v1_4_with_every_timing_line(tmp_path):
    """BIND's newer writers: v1.4 with Inactive, Delete, SyncPublish, SyncDelete, DSPublish and
    more lines after the key numbers; all of it is metadata the import leaves aside."""
    key = keygen(tmp_path, "ED25519", [], True)
    rewrite_private(key, lambda t: t.replace("Private-key-format: v1.3", "Private-key-format: v1.4")
                    + "Inactive: 20300101000000\nDelete: 20310101000000\n"
                    "SyncPublish: 20260101000000\nSyncDelete: 20300101000000\n"
                    "DSPublish: 20260102000000\nDSRemoved: 20300102000000\nLifetime: 0\n")
    new = import_key(key, tmp_path / "keys")
    assert ensign_ds(new) == bind_ds(key)
    rewrite_private(key, lambda t: t.replace("Private-key-format: v1.4", "Private-key-format: v2.0"))
    assert "Private-key-format" in fail(key, tmp_path / "keys2")


# ---- keys below the safe size ----


def test_rsa_1024_needs_allow_weak_then_is_flagged_everywhere(tmp_path):
    """A zone being migrated may still sign with RSA-1024 (RFC 8976's uri.arpa example keys are
    RSASHA256-1024; their private halves are not published, so dnssec-keygen makes one):
    refused without --allow-weak, imported with a warning with it, signs a zone BIND verifies,
    and the API takes it only with allowWeak and then flags it weak in cryptokeys and in the
    DNSSEC status (whose DNSKEY form carries protocol 3)."""
    import requests

    import servelib

    key = keygen(tmp_path, "RSASHA256", ["-b", "1024"], True)
    keydir = tmp_path / "keys"
    err = fail(key, keydir)
    assert "2048" in err and "--allow-weak" in err
    p = run("key-import", key, "--dir", str(keydir), "--allow-weak")
    assert p.returncode == 0, p.stderr
    assert "warning" in p.stderr and "weak" in p.stderr
    new = os.path.join(str(keydir), p.stdout.splitlines()[0])
    assert ensign_ds(new) == bind_ds(key)
    with open(new + ".key") as f:
        assert "; weak:" in f.read()
    sign_and_verify(tmp_path, keydir)

    with open(new + ".private.pem") as f:
        pem = f.read()
    api_key = "weak-import-key"
    (tmp_path / "srv").mkdir()
    with servelib.ApiServer(tmp_path / "srv", api_key) as srv:
        s = requests.Session()
        s.headers["X-API-Key"] = api_key
        z = "/api/v1/servers/localhost/zones"
        r = s.post(srv.base + z, json={"name": "example.", "kind": "Native",
                                       "nameservers": ["ns1.example."]}, timeout=30)
        assert r.status_code == 201, r.text
        body = {"keytype": "ksk", "active": True, "privatekey": pem}
        r = s.post(srv.base + z + "/example./cryptokeys", json=body, timeout=30)
        assert r.status_code == 422 and "privatekey" in r.json()["error"], r.text
        r = s.post(srv.base + z + "/example./cryptokeys", json=dict(body, allowWeak=True),
                   timeout=30)
        assert r.status_code == 201, r.text
        ck = r.json()
        assert ck["weak"] is True and ck["bits"] == 1024 and ck["keyTag"] == bind_ds(key)[0]
        r = s.put(srv.base + z + "/example./dnssec", json={"enabled": True}, timeout=60)
        assert r.status_code == 200, r.text
        keys = s.get(srv.base + z + "/example./cryptokeys", timeout=30).json()
        assert {k["keyTag"]: k["weak"] for k in keys}[ck["keyTag"]] is True
        assert all(k["weak"] is False for k in keys if k["keyTag"] != ck["keyTag"])
        status = s.get(srv.base + z + "/example./dnssec", timeout=30).json()
        forms = {k["keyTag"]: k for k in status["keys"]}
        assert forms[ck["keyTag"]]["weak"] is True
        assert all(k["protocol"] == 3 for k in status["keys"])
        assert status["lastSignError"] is None, status
