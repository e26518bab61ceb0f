"""A SoftHSM2 token of a test's own, and OpenSC's pkcs11-tool as the judge of what it holds:
its configuration and token directory under the test's temporary directory (SOFTHSM2_CONF), a
PIN file, the environment that finds it, the token's removal (its directory moved away) and
return, and the objects and mechanisms pkcs11-tool lists."""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SUPP = os.path.join(HERE, "..", "data", "lsan-softhsm.supp")
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"


def softhsm_env(conf, base=None):
    """The environment of a process that loads SoftHSM with configuration conf. SoftHSM 2.6.1
    leaks an ASN.1 string in each EdDSA C_SignInit: the sanitizer runs suppress leaks from the
    module (tests/data/lsan-softhsm.supp), which needs full stacks to see it."""
    env = dict(base if base is not None else os.environ, SOFTHSM2_CONF=str(conf))
    asan = env.get("ASAN_OPTIONS", "")
    if "fast_unwind_on_malloc" not in asan:
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "fast_unwind_on_malloc=0"
    env["LSAN_OPTIONS"] = "suppressions=" + os.path.abspath(SUPP)
    return env


class Token:
    """A SoftHSM2 token of its own: configuration, token directory, PIN file, environment."""

    def __init__(self, root, label="ensign"):
        for t in ("softhsm2-util", "pkcs11-tool"):
            assert shutil.which(t), f"{t} is missing: run scripts/deps.sh"
        assert os.path.exists(MODULE), "SoftHSM2 is missing: run scripts/deps.sh"
        self.root = root
        self.label = label
        self.tokens = root / "tokens"
        self.tokens.mkdir()
        self.conf = root / "softhsm2.conf"
        self.conf.write_text(f"directories.tokendir = {self.tokens}\nobjectstore.backend = file\n"
                             "log.level = ERROR\n")
        self.env = softhsm_env(self.conf)
        self.run("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN,
                 "--so-pin", "5678")
        self.pin = root / "pin"
        self.pin.write_text(PIN + "\n")
        self.pin.chmod(0o600)
        self.uri = f"pkcs11:token={label}?module-path={MODULE}&pin-source={self.pin}"
        self.away = root / "away"

    def run(self, *args, check=True, stdin=None):
        p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600,
                           env=self.env, input=stdin)
        assert p.returncode >= 0, f"{args[0]} died of signal {-p.returncode}:\n{p.stderr}"
        if check:
            assert p.returncode == 0, f"{args} failed:\n{p.stdout}\n{p.stderr}"
        return p

    def p11(self, *args, check=True, pin=PIN):
        return self.run("pkcs11-tool", "--module", MODULE, "--token-label", self.label, "--login",
                        "--pin", pin, *args, check=check)

    def objects(self):
        """pkcs11-tool --list-objects, as one dict per object: kind, label, id, usage, access."""
        out = self.p11("--list-objects").stdout
        objs = []
        for line in out.splitlines():
            if line and not line.startswith(" ") and "Object;" in line:
                objs.append({"kind": line.split(" Object;")[0]})
            elif line.startswith("  ") and ":" in line and objs:
                k, v = line.strip().split(":", 1)
                objs[-1][k.strip().lower()] = v.strip()
        return objs

    def labels(self):
        return [o.get("label") for o in self.objects()]

    def mechanisms(self):
        """The DNSSEC algorithms (ensign's names) the token signs with, from pkcs11-tool's
        mechanism list."""
        out = self.p11("--list-mechanisms").stdout
        have = set()

        def sizes(line):
            lo, hi = line.split("keySize={")[1].split("}")[0].split(",")
            return int(lo), int(hi)

        for line in out.splitlines():
            line = line.strip()
            if line.startswith("ECDSA,") and "sign" in line:
                lo, hi = sizes(line)
                have |= {a for a, b in (("ecdsa-p256", 256), ("ecdsa-p384", 384))
                         if lo <= b <= hi}
            elif line.startswith("RSA-PKCS,") and "sign" in line:
                lo, hi = sizes(line)
                if lo <= 2048 <= hi:
                    have |= {"rsa-2048", "RSASHA512"}
            elif line.startswith("EDDSA,") and "sign" in line:
                lo, hi = sizes(line)
                have |= {a for a, b in (("ed25519", 256), ("ed448", 456)) if lo <= b <= hi}
        return have

    def remove(self):
        """The token goes: its directory is moved away."""
        (d,) = list(self.tokens.iterdir())
        shutil.move(str(d), str(self.away))

    def restore(self):
        shutil.move(str(self.away), str(self.tokens / "restored"))
