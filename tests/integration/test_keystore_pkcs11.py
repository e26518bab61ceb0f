"""Keys on a PKCS#11 token (SoftHSM2), offline: `ensign keygen --keystore pkcs11:...`,
`ensign key-link`, `ensign sign --keystore`, `ensign key-destroy`. Each test has its own
SoftHSM2 configuration and token directory under its temporary directory. Judges: BIND's
dnssec-verify, ldns-verify-zone and Knot's kzonecheck for the signed zones; OpenSC's
pkcs11-tool for what the token holds (object attributes, key pairs made without ensign); a
scan of every file written for private key material."""
import base64
import os
import shutil
import subprocess
import time

import pytest

import hsmlib

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
TOOLS = os.environ.get("ENSIGN_TOOLS", "/work/main/build/asan/tools")
MODULE = hsmlib.MODULE
PIN = hsmlib.PIN

ZONE = """$ORIGIN hsm.test.
$TTL 3600
@        SOA  ns1 hostmaster 2024010101 3600 900 604800 600
@        NS   ns1
@        MX   10 mail
ns1      A    192.0.2.1
mail     A    192.0.2.2
         AAAA 2001:db8::2
www      CNAME mail
sec      NS   ns1.example.net.
sec      DS   1 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
insec    NS   ns.insec
ns.insec A    192.0.2.4
*.wild   TXT  "wild"
"""

# ensign's algorithm names, and the DNSSEC numbers.
ALGS = {"ecdsa-p256": 13, "ecdsa-p384": 14, "ed25519": 15, "ed448": 16, "rsa-2048": 8,
        "RSASHA512": 10}

NOW = int(time.time())
WINDOW = ["--inception", str(NOW - 3600), "--expiration", str(NOW + 30 * 86400)]


class Token(hsmlib.Token):
    """hsmlib's token, with the offline commands of ensign."""

    def ensign(self, *args, check=True):
        return self.run(ENSIGN, *args, check=check)

    def keygen(self, zone, alg, role, keys):
        p = self.ensign("keygen", zone, "--algorithm", alg, "--role", role, "--keystore",
                        self.uri, "--dir", keys)
        lines = p.stdout.splitlines()
        assert lines[0].startswith("pkcs11:token=ensign;id="), p.stdout
        return lines[0], lines[1]  # locator, base name


@pytest.fixture
def token(tmp_path):
    for t in ("dnssec-verify", "ldns-verify-zone", "kzonecheck"):
        assert shutil.which(t), f"{t} is missing: run scripts/deps.sh"
    return Token(tmp_path)


def zone_file(tmp_path):
    z = tmp_path / "hsm.test.zone"
    z.write_text(ZONE)
    return z


def judge(token, path, csk):
    args = ["dnssec-verify", "-o", "hsm.test"] + (["-z"] if csk else []) + [path]
    token.run(*args)
    token.run("ldns-verify-zone", path)
    token.run("kzonecheck", "-o", "hsm.test", "--dnssec", "on", path)


def test_softhsm_offers_every_dnssec_algorithm(token):
    # SoftHSM 2.6.1 (Debian 12) has CKM_ECDSA (P-256, P-384), CKM_RSA_PKCS and CKM_EDDSA
    # (Ed25519, Ed448): every algorithm ensign signs with is tested on the token below.
    assert token.mechanisms() == set(ALGS)


@pytest.mark.parametrize("alg", list(ALGS))
def test_zone_signed_with_key_on_token_passes_oracles(token, tmp_path, alg):
    assert alg in token.mechanisms()
    keys = tmp_path / "keys"
    locator, base = token.keygen("hsm.test", alg, "csk", keys)
    assert sorted(os.listdir(keys)) == [base + ".key"]  # the public half only
    assert f"; locator: {locator}" in (keys / (base + ".key")).read_text()
    out = tmp_path / "signed.zone"
    token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", token.uri, "--nsec3",
                 "--threads", "2", *WINDOW, "-o", out)
    judge(token, str(out), csk=True)
    dnskey = (keys / (base + ".key")).read_text().splitlines()[-1].split("DNSKEY")[1].split()
    assert " ".join(dnskey) in " ".join(out.read_text().split())


def test_ksk_on_token_zsk_in_files_passes_oracles(token, tmp_path):
    # the split of Route 53: the token signs the DNSKEY RRset only
    keys = tmp_path / "keys"
    token.keygen("hsm.test", "ecdsa-p256", "ksk", keys)
    token.ensign("keygen", "hsm.test", "--role", "zsk", "--dir", keys)
    out = tmp_path / "signed.zone"
    token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", token.uri, "--nsec",
                 *WINDOW, "-o", out)
    judge(token, str(out), csk=False)
    # without the keystore, the token's key cannot be used, and the command says so
    p = token.ensign("sign", zone_file(tmp_path), "--keys", keys, *WINDOW, "-o",
                     tmp_path / "no.zone", check=False)
    assert p.returncode == 1 and "is a key on a PKCS#11 token" in p.stderr
    assert not (tmp_path / "no.zone").exists()


def test_private_objects_are_sensitive_and_never_extractable(token, tmp_path):
    made = {}
    for alg in ("ecdsa-p256", "rsa-2048", "ed25519"):
        locator, base = token.keygen("hsm.test", alg, "zsk", tmp_path / "keys")
        made[base] = locator
    # a key pair made extractable by pkcs11-tool: the judge must tell it apart
    token.p11("--keypairgen", "--key-type", "EC:prime256v1", "--id", "7777", "--label",
              "control", "--extractable")
    objs = token.objects()
    by = {(o["kind"], o.get("label")): o for o in objs}
    for base, locator in made.items():
        priv = by[("Private Key", base)]
        pub = by[("Public Key", base)]
        # the label and the CKA_ID name the zone and the key tag: "hsm.test+013+12345"
        assert bytes.fromhex(priv["id"]).decode() == base
        assert pub["id"] == priv["id"]
        assert locator.endswith(f";id={base};type=private")
        access = [a.strip() for a in priv["access"].split(",")]
        assert "sensitive" in access and "always sensitive" in access
        assert "never extractable" in access
        assert priv["usage"] == "sign"
        # the token does not give the private key out
        dest = tmp_path / (base + ".der")
        p = token.p11("--read-object", "--type", "privkey", "--label", base, "-o", dest,
                      check=False)
        assert not dest.exists(), p.stdout + p.stderr
        # while the public key comes out, so the reading itself works
        pubdest = tmp_path / (base + ".pub.der")
        token.p11("--read-object", "--type", "pubkey", "--label", base, "-o", pubdest)
        assert pubdest.stat().st_size > 30
    control = by[("Private Key", "control")]
    assert "never extractable" not in control["access"]


def private_scalar_forms(der_path):
    """The private scalar of an EC key (PKCS#8 DER) in the forms a file could hold it."""
    p = subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", str(der_path), "-noout",
                        "-text"], capture_output=True, text=True, check=True)
    hexpart = p.stdout.split("priv:")[1].split("pub:")[0]
    raw = bytes.fromhex("".join(hexpart.split()).replace(":", ""))
    raw = raw[-32:]
    return [raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw),
            base64.b64encode(raw)[:40]]


def holds_secret(path, forms):
    data = path.read_bytes()
    return any(f in data for f in forms) or b"PRIVATE KEY" in data or \
        b"Private-key-format" in data


def test_no_private_key_material_in_any_file_written(token, tmp_path):
    # A key whose private half we know, put on the token by pkcs11-tool, then used by ensign:
    # neither its key file nor the signed zone nor anything else written may hold it.
    secret = tmp_path / "secret"
    secret.mkdir(mode=0o700)
    priv, pub = secret / "priv.der", secret / "pub.der"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-outform", "DER", "-out", str(priv)], check=True)
    subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", str(priv), "-pubout", "-outform",
                    "DER", "-out", str(pub)], check=True)
    token.p11("--write-object", priv, "--type", "privkey", "--id", "0101", "--label", "known")
    token.p11("--write-object", pub, "--type", "pubkey", "--id", "0101", "--label", "known")
    forms = private_scalar_forms(priv)
    assert holds_secret(priv, forms)  # the scan finds the secret where it is
    keys, out = tmp_path / "keys", tmp_path / "out"
    token.ensign("key-link", "hsm.test", "pkcs11:id=%01%01", "--keystore", token.uri,
                 "--algorithm", "ecdsa-p256", "--role", "ksk", "--dir", keys)
    # one algorithm: kzonecheck 3.2.6 misjudges zones signed with two (its
    # knot_validate_rrsigs returns the last key's lookup error even when a signature verified)
    token.keygen("hsm.test", "ecdsa-p256", "zsk", keys)
    out.mkdir()
    token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", token.uri, *WINDOW,
                 "-o", out / "signed.zone")
    judge(token, str(out / "signed.zone"), csk=False)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and token.tokens not in p.parents
               and secret not in p.parents and p.parent != tmp_path]
    written += [p for p in tmp_path.iterdir() if p.is_file()]
    assert any(p.suffix == ".key" for p in written)
    for p in written:
        assert not holds_secret(p, forms), f"{p} holds private key material"
    assert all(p.suffix == ".key" for p in keys.iterdir())


@pytest.mark.parametrize("keytype,alg,uri", [
    ("EC:prime256v1", "ecdsa-p256", "pkcs11:object=ext-key;type=private"),
    ("rsa:2048", "rsa-2048", "pkcs11:id=%42%42"),
    ("EC:secp384r1", "ecdsa-p384", "pkcs11:token=ensign;id=%42%42;object=ext-key"),
])
def test_linked_existing_key_signs(token, tmp_path, keytype, alg, uri):
    token.p11("--keypairgen", "--key-type", keytype, "--id", "4242", "--label", "ext-key")
    before = token.objects()
    keys = tmp_path / "keys"
    p = token.ensign("key-link", "hsm.test", uri, "--keystore", token.uri, "--algorithm", alg,
                     "--role", "csk", "--dir", keys)
    assert p.stdout.splitlines()[0] == "pkcs11:token=ensign;id=BB;type=private"
    assert token.objects() == before  # nothing made, nothing renamed
    out = tmp_path / "signed.zone"
    token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", token.uri,
                 "--threads", "2", *WINDOW, "-o", out)
    judge(token, str(out), csk=True)
    # the wrong algorithm for the key, or no such key: refused, saying why
    wrong = "ed25519" if alg != "ed25519" else "ecdsa-p256"
    p = token.ensign("key-link", "hsm.test", uri, "--keystore", token.uri, "--algorithm", wrong,
                     check=False)
    assert p.returncode == 1 and "not ED25519 (15)" in p.stderr, p.stderr
    p = token.ensign("key-link", "hsm.test", "pkcs11:object=absent", "--keystore", token.uri,
                     "--algorithm", alg, check=False)
    assert p.returncode == 1 and "no private key matching the key URI" in p.stderr


class Loop:
    """tests/tools/keystore_loop: one process signing on request with a signing context kept
    from one request to the next."""

    def __init__(self, token, keyfile):
        self.p = subprocess.Popen([os.path.join(TOOLS, "keystore_loop"), token.uri,
                                   str(keyfile)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=token.env)
        assert self.p.stdout.readline().strip() == "ready", self.p.stderr.read()

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().strip()
        assert line, f"keystore_loop died: {self.p.wait()} {self.p.stderr.read()}"
        return line

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        assert self.p.wait(timeout=60) == 0, self.p.stderr.read()


def test_token_removed_mid_run_gives_clear_error_then_recovers(token, tmp_path):
    _, base = token.keygen("hsm.test", "ecdsa-p256", "zsk", tmp_path / "keys")
    loop = Loop(token, tmp_path / "keys" / (base + ".key"))
    assert loop.ask("sign") == "ok"
    assert loop.ask("fresh") == "ok"
    token.remove()
    for cmd in ("sign", "fresh", "check", "sign"):
        answer = loop.ask(cmd)
        assert answer.startswith("error not found:"), answer
        assert f'PKCS#11 token "ensign" is not present in module {MODULE}' in answer
    token.restore()
    # the next call after the loss finds the token again, logs in and signs
    assert loop.ask("sign") == "ok"
    assert loop.ask("fresh") == "ok"
    assert loop.ask("check") == "ok"
    loop.close()


def test_pin_changed_mid_run_says_so_then_recovers(token, tmp_path):
    _, base = token.keygen("hsm.test", "ed25519", "zsk", tmp_path / "keys")
    loop = Loop(token, tmp_path / "keys" / (base + ".key"))
    assert loop.ask("sign") == "ok"
    token.p11("--change-pin", "--new-pin", "98765")
    assert loop.ask("sign") == "ok"  # logged in already: the session goes on
    token.remove()
    token.restore()  # back, but our PIN file holds the old PIN
    for _ in range(2):
        answer = loop.ask("sign")
        assert answer.startswith("error invalid argument:"), answer
        assert "C_Login" in answer and "CKR_PIN_INCORRECT" in answer
        assert '"ensign"' in answer and MODULE in answer
    assert "not tried again" in loop.ask("check")
    token.pin.write_text("98765\n")
    assert loop.ask("sign") == "ok"
    assert loop.ask("check") == "ok"
    loop.close()


def test_key_deleted_under_a_running_signer_fails_cleanly(token, tmp_path):
    # another program removes the key object: the signature fails, saying which key and where
    _, base = token.keygen("hsm.test", "ecdsa-p384", "zsk", tmp_path / "keys")
    loop = Loop(token, tmp_path / "keys" / (base + ".key"))
    assert loop.ask("sign") == "ok"
    token.p11("--delete-object", "--type", "privkey", "--label", base)
    for cmd in ("sign", "fresh"):
        answer = loop.ask(cmd)
        assert answer.startswith("error not found:"), answer
        assert f'no private key "{base}"' in answer and '"ensign"' in answer, answer
    assert loop.ask("check") == "ok"  # the token itself is fine
    loop.close()


def test_sign_fails_cleanly_on_wrong_pin_or_missing_token(token, tmp_path):
    keys = tmp_path / "keys"
    token.keygen("hsm.test", "ecdsa-p256", "csk", keys)
    out = tmp_path / "signed.zone"
    bad = f"pkcs11:token=ensign?module-path={MODULE}&pin-value=0000"
    p = token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", bad, *WINDOW,
                     "-o", out, check=False)
    assert p.returncode == 1
    assert "C_Login" in p.stderr and "CKR_PIN_INCORRECT" in p.stderr and "0000" not in p.stderr
    assert not out.exists()
    # SOFTHSM2_CONF pointing at an emptied token directory
    token.remove()
    p = token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", token.uri,
                     *WINDOW, "-o", out, check=False)
    assert p.returncode == 1
    assert 'PKCS#11 token "ensign" is not present' in p.stderr, p.stderr
    assert not out.exists()
    token.restore()
    token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", token.uri, *WINDOW,
                 "-o", out)
    judge(token, str(out), csk=True)


def test_module_that_fails_to_load_is_named(token, tmp_path):
    notlib = tmp_path / "not-a-library.so"
    notlib.write_text("hello\n")
    for path in ("/nonexistent/libpkcs11.so", str(notlib)):
        uri = f"pkcs11:token=ensign?module-path={path}&pin-value={PIN}"
        p = token.ensign("keygen", "hsm.test", "--keystore", uri, check=False)
        assert p.returncode == 1, p.stderr
        assert f"cannot load the PKCS#11 module {path}" in p.stderr, p.stderr
    p = token.ensign("keygen", "hsm.test", "--keystore",
                     f"pkcs11:token=ensign?module-path={MODULE}&pin-sorce={token.pin}",
                     check=False)
    assert p.returncode == 1 and "does not know" in p.stderr


def test_keys_are_destroyed_only_on_explicit_request(token, tmp_path):
    keys = tmp_path / "keys"
    locator, base = token.keygen("hsm.test", "ecdsa-p256", "csk", keys)
    token.ensign("sign", zone_file(tmp_path), "--keys", keys, "--keystore", token.uri, *WINDOW,
                 "-o", tmp_path / "signed.zone")
    labels = [o.get("label") for o in token.objects()]
    assert labels.count(base) == 2  # private and public, after keygen and sign
    token.ensign("key-destroy", locator, "--keystore", token.uri)
    assert base not in [o.get("label") for o in token.objects()]
    p = token.ensign("key-destroy", locator, "--keystore", token.uri, check=False)
    assert p.returncode == 1 and "no key matching the locator" in p.stderr
