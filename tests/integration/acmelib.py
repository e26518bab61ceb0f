"""A local ACME server for the real clients: Debian's pebble with a test CA made here, free
ports, and its DNS-01 lookups sent to ensign (`pebble -dnsserver`); and the check that a
certificate a client obtained chains to pebble's root and names the domains asked for."""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import requests

import servelib


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


@contextlib.contextmanager
def pebble(work, dns_port):
    """Runs pebble in work/pebble, its DNS lookups to 127.0.0.1:dns_port; yields a dict with
    the ACME port ("acme"), the management port ("mgmt"), its directory URL ("url") and the
    directory holding its CA ("dir", ca.pem)."""
    pdir = os.path.join(str(work), "pebble")
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
    proc = subprocess.Popen([tool("pebble"), "-config", conf, "-dnsserver",
                             f"127.0.0.1:{dns_port}"],
                            stdout=log, stderr=subprocess.STDOUT, env=penv)
    try:
        wait_listening(acme, proc)
        yield {"acme": acme, "mgmt": mgmt, "dir": pdir,
               "url": f"https://127.0.0.1:{acme}/dir"}
    finally:
        servelib.stop(proc)
        log.close()


def check_certificate(peb, cert, chain, domains):
    """The certificate file cert names exactly domains and chains, through the intermediates
    in chain, to pebble's root."""
    sans = openssl("x509", "-in", cert, "-noout", "-ext", "subjectAltName", cwd=peb["dir"])
    assert sorted(s.strip().removeprefix("DNS:") for s in sans.splitlines()[1].split(",")) == \
        sorted(domains)
    root = requests.get(f"https://127.0.0.1:{peb['mgmt']}/roots/0",
                        verify=os.path.join(peb["dir"], "ca.pem"), timeout=30)
    assert root.status_code == 200
    rootfile = cert + ".root.pem"
    with open(rootfile, "w") as f:
        f.write(root.text)
    out = openssl("verify", "-CAfile", rootfile, "-untrusted", chain, cert, cwd=peb["dir"])
    assert out.strip().endswith(": OK"), out


def no_challenge_left(srv, key, zone, *names):
    """No _acme-challenge record is left at names (NXDOMAIN over DNS), nor in the zone's RRsets
    in the API."""
    for n in names:
        q = dns.message.make_query(f"_acme-challenge.{n}.", "TXT")
        r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=10)
        assert r.rcode() == dns.rcode.NXDOMAIN, r
    z = requests.get(f"{srv.base}/api/v1/servers/localhost/zones/{zone}.",
                     headers={"X-API-Key": key}, timeout=30).json()
    assert [s["name"] for s in z["rrsets"] if "_acme-challenge" in s["name"]] == []
