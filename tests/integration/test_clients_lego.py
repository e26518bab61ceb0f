"""Debian's lego (4.9.1) with its `pdns` provider, unchanged, obtains certificates from a local
pebble ACME server (Debian's 2.4.0) whose DNS-01 lookups go to ensign (`pebble -dnsserver`):
for www.<zone>, and for <zone> and *.<zone> together (two TXT records at one name, which lego
merges into one RRset). lego sends what PowerDNS ignores ("kind" in the RRset, name/type/ttl
in each record) and must be answered as PowerDNS answers. The certificates chain to pebble's
root; afterwards no _acme-challenge TXT record is left, in DNS or in the API. (lego 4.9.1 deletes
the whole RRset at its first clean-up, so it warns that the second finds nothing; PowerDNS gives
it the same.) Pebble gets its own configuration with free ports and a test certificate made
here; lego trusts it through LEGO_CA_CERTIFICATES."""
import json
import os
import shutil
import socket
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest
import requests

import servelib

KEY = "lego-pdns-key"
ZONE = "lego.test"


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is missing: scripts/deps.sh installs it"
    return path


def openssl(*args, cwd):
    p = subprocess.run([tool("openssl"), *args], capture_output=True, text=True, timeout=60,
                       cwd=cwd)
    assert p.returncode == 0, p.stderr
    return p.stdout


def make_pebble_certificate(d):
    """A CA and, signed by it, pebble's HTTPS certificate for 127.0.0.1."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            "key.pem", "-out", "req.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "ext", cwd=d)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    lego, pebble = tool("lego"), tool("pebble")
    work = tmp_path_factory.mktemp("lego")
    with servelib.ApiServer(work, KEY) as srv:
        r = requests.post(srv.base + "/api/v1/servers/localhost/zones",
                          json={"name": ZONE + ".", "kind": "Native",
                                "nameservers": [f"ns1.{ZONE}."]},
                          headers={"X-API-Key": KEY}, timeout=30)
        assert r.status_code == 201, r.text
        pdir = str(work / "pebble")
        os.makedirs(pdir)
        make_pebble_certificate(pdir)
        acme, mgmt = servelib.free_port(), servelib.free_port()
        while mgmt == acme:
            mgmt = servelib.free_port()
        conf = os.path.join(pdir, "pebble.json")
        with open(conf, "w") as f:
            json.dump({"pebble": {
                "listenAddress": f"127.0.0.1:{acme}",
                "managementListenAddress": f"127.0.0.1:{mgmt}",
                "certificate": os.path.join(pdir, "cert.pem"),
                "privateKey": os.path.join(pdir, "key.pem"),
                "httpPort": servelib.free_port(), "tlsPort": servelib.free_port(),
                "ocspResponderURL": "", "externalAccountBindingRequired": False}}, f)
        log = open(os.path.join(pdir, "pebble.log"), "wb")
        # no random sleep before validating, no random nonce refusals: the run is deterministic
        penv = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        proc = subprocess.Popen([pebble, "-config", conf, "-dnsserver", f"127.0.0.1:{srv.port}"],
                                stdout=log, stderr=subprocess.STDOUT, env=penv)
        try:
            wait_listening(acme, proc)
            yield {"lego": lego, "srv": srv, "acme": acme, "mgmt": mgmt, "dir": pdir,
                   "work": work}
        finally:
            servelib.stop(proc)
            log.close()


def wait_listening(port, proc):
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "pebble exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "pebble does not listen"
            time.sleep(0.05)


def obtain(env, name, *domains):
    path = os.path.join(str(env["work"]), "lego-" + name)
    lenv = dict(os.environ, LEGO_CA_CERTIFICATES=os.path.join(env["dir"], "ca.pem"),
                PDNS_API_URL=env["srv"].base, PDNS_API_KEY=KEY, PDNS_PROPAGATION_TIMEOUT="60",
                PDNS_POLLING_INTERVAL="1")
    args = [env["lego"], "--server", f"https://127.0.0.1:{env['acme']}/dir", "--accept-tos",
            "--email", f"acme@{ZONE}", "--path", path, "--dns", "pdns",
            # the zone is found, and the TXT record seen, by asking ensign itself; its name
            # servers (ns1.lego.test) exist only in this test
            "--dns.resolvers", f"127.0.0.1:{env['srv'].port}", "--dns.disable-cp"]
    for d in domains:
        args += ["-d", d]
    p = subprocess.run(args + ["run"], capture_output=True, text=True, timeout=300, env=lenv)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Server responded with a certificate" in p.stderr, p.stderr
    return os.path.join(path, "certificates", domains[0].lstrip("*."))


def check_certificate(env, base, domains):
    sans = openssl("x509", "-in", base + ".crt", "-noout", "-ext", "subjectAltName",
                   cwd=env["dir"])
    assert sorted(s.strip().removeprefix("DNS:") for s in sans.splitlines()[1].split(",")) == \
        sorted(domains)
    root = requests.get(f"https://127.0.0.1:{env['mgmt']}/roots/0",
                        verify=os.path.join(env["dir"], "ca.pem"), timeout=30)
    assert root.status_code == 200
    rootfile = base + ".root.pem"
    with open(rootfile, "w") as f:
        f.write(root.text)
    # lego's .crt holds the leaf then the intermediate (the bundle)
    out = openssl("verify", "-CAfile", rootfile, "-untrusted", base + ".issuer.crt",
                  base + ".crt", cwd=env["dir"])
    assert out.strip().endswith(": OK"), out


def no_challenge_left(env, *names):
    srv = env["srv"]
    for n in names:
        q = dns.message.make_query(f"_acme-challenge.{n}.", "TXT")
        r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=10)
        assert r.rcode() == dns.rcode.NXDOMAIN, r
    z = requests.get(f"{srv.base}/api/v1/servers/localhost/zones/{ZONE}.",
                     headers={"X-API-Key": KEY}, timeout=30).json()
    assert [s["name"] for s in z["rrsets"] if "_acme-challenge" in s["name"]] == []


def test_lego_pdns_obtains_a_certificate_for_www(env):
    base = obtain(env, "www", f"www.{ZONE}")
    check_certificate(env, base, [f"www.{ZONE}"])
    no_challenge_left(env, f"www.{ZONE}")


def test_lego_pdns_obtains_apex_and_wildcard_together(env):
    base = obtain(env, "wild", ZONE, f"*.{ZONE}")
    check_certificate(env, base, [ZONE, f"*.{ZONE}"])
    no_challenge_left(env, ZONE)
