"""Debian's lego (4.9.1) with its `pdns` provider, unchanged, obtains certificates from a local
pebble ACME server (Debian's 2.4.0) whose DNS-01 lookups go to ensign (`pebble -dnsserver`):
for www.<zone>, and for <zone> and *.<zone> together (two TXT records at one name, which lego
merges into one RRset). lego sends what PowerDNS ignores ("kind" in the RRset, name/type/ttl
in each record) and must be answered as PowerDNS answers. The certificates chain to pebble's
root; afterwards no _acme-challenge TXT record is left, in DNS or in the API. (lego 4.9.1 deletes
the whole RRset at its first clean-up, so it warns that the second finds nothing; PowerDNS gives
it the same.) Pebble gets its own configuration with free ports and a test certificate made
here; lego trusts it through LEGO_CA_CERTIFICATES."""
import os
import subprocess

import pytest
import requests

import acmelib
import servelib

KEY = "lego-pdns-key"
ZONE = "lego.test"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    lego = acmelib.tool("lego")
    work = tmp_path_factory.mktemp("lego")
    with servelib.ApiServer(work, KEY) as srv:
        r = requests.post(srv.base + "/api/v1/servers/localhost/zones",
                          json={"name": ZONE + ".", "kind": "Native",
                                "nameservers": [f"ns1.{ZONE}."]},
                          headers={"X-API-Key": KEY}, timeout=30)
        assert r.status_code == 201, r.text
        with acmelib.pebble(work, srv.port) as peb:
            yield {"lego": lego, "srv": srv, "acme": peb["acme"], "peb": peb, "work": work}


def obtain(env, name, *domains):
    path = os.path.join(str(env["work"]), "lego-" + name)
    lenv = dict(os.environ, LEGO_CA_CERTIFICATES=os.path.join(env["peb"]["dir"], "ca.pem"),
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
    # lego's .crt holds the leaf then the intermediate (the bundle)
    acmelib.check_certificate(env["peb"], base + ".crt", base + ".issuer.crt", domains)


def no_challenge_left(env, *names):
    acmelib.no_challenge_left(env["srv"], KEY, ZONE, *names)


def test_lego_pdns_obtains_a_certificate_for_www(env):
    base = obtain(env, "www", f"www.{ZONE}")
    check_certificate(env, base, [f"www.{ZONE}"])
    no_challenge_left(env, f"www.{ZONE}")


def test_lego_pdns_obtains_apex_and_wildcard_together(env):
    base = obtain(env, "wild", ZONE, f"*.{ZONE}")
    check_certificate(env, base, [ZONE, f"*.{ZONE}"])
    no_challenge_left(env, ZONE)
