"""The ACME clients that speak DNS UPDATE, unchanged, obtain certificates from a local pebble
whose DNS-01 lookups go to ensign: lego with its `rfc2136` provider (for www.<zone>, and for
<zone> with *.<zone>) and certbot with python3-certbot-dns-rfc2136. Both sign their UPDATEs
with a TSIG key limited to _acme-challenge TXT records, the only key the zone takes; the
certificates chain to pebble's root, and afterwards no _acme-challenge record is left."""
import base64
import os
import subprocess

import pytest
import requests

import acmelib
import servelib

KEY = "rfc2136-admin-key"
ZONE = "acme2136.test"
TSIG_NAME = "acme-update."
TSIG_SECRET = base64.b64encode(b"acme-update-secret-for-rfc2136-").decode()


def api(srv, method, path, **kw):
    return requests.request(method, srv.base + "/api/v1/servers/localhost" + path,
                            headers={"X-API-Key": KEY}, timeout=60, **kw)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("rfc2136")
    with servelib.ApiServer(work, KEY) as srv:
        r = api(srv, "POST", "/tsigkeys", json={
            "name": TSIG_NAME, "algorithm": "hmac-sha256", "key": TSIG_SECRET,
            "updateScope": {"labels": ["_acme-challenge"], "types": ["TXT"]}})
        assert r.status_code == 201, r.text
        r = api(srv, "POST", "/zones", json={"name": ZONE + ".", "kind": "Native",
                                              "nameservers": [f"ns1.{ZONE}."]})
        assert r.status_code == 201, r.text
        r = api(srv, "PUT", f"/zones/{ZONE}./metadata/TSIG-ALLOW-DNSUPDATE",
                json={"kind": "TSIG-ALLOW-DNSUPDATE", "metadata": [TSIG_NAME]})
        assert r.status_code == 200, r.text
        with acmelib.pebble(work, srv.port) as peb:
            yield {"srv": srv, "peb": peb, "work": str(work)}


def no_challenge_left(env, *names):
    acmelib.no_challenge_left(env["srv"], KEY, ZONE, *names)


def lego(env, name, *domains):
    path = os.path.join(env["work"], "lego-" + name)
    port = env["srv"].port
    lenv = dict(os.environ, LEGO_CA_CERTIFICATES=os.path.join(env["peb"]["dir"], "ca.pem"),
                RFC2136_NAMESERVER=f"127.0.0.1:{port}", RFC2136_TSIG_KEY=TSIG_NAME,
                RFC2136_TSIG_SECRET=TSIG_SECRET, RFC2136_TSIG_ALGORITHM="hmac-sha256.",
                RFC2136_PROPAGATION_TIMEOUT="60", RFC2136_POLLING_INTERVAL="1")
    args = [acmelib.tool("lego"), "--server", env["peb"]["url"], "--accept-tos", "--email",
            f"acme@{ZONE}", "--path", path, "--dns", "rfc2136",
            "--dns.resolvers", f"127.0.0.1:{port}", "--dns.disable-cp"]
    for d in domains:
        args += ["-d", d]
    p = subprocess.run(args + ["run"], capture_output=True, text=True, timeout=300, env=lenv)
    assert p.returncode == 0, p.stdout + p.stderr
    base = os.path.join(path, "certificates", domains[0].lstrip("*."))
    acmelib.check_certificate(env["peb"], base + ".crt", base + ".issuer.crt", list(domains))


def test_lego_rfc2136_obtains_a_certificate_for_www(env):
    lego(env, "www", f"www.{ZONE}")
    no_challenge_left(env, f"www.{ZONE}")


def test_lego_rfc2136_obtains_apex_and_wildcard_together(env):
    lego(env, "wild", ZONE, f"*.{ZONE}")
    no_challenge_left(env, ZONE)


def test_certbot_dns_rfc2136_obtains_a_certificate(env):
    d = os.path.join(env["work"], "certbot")
    os.makedirs(d, exist_ok=True)
    creds = os.path.join(d, "rfc2136.ini")
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"dns_rfc2136_server = 127.0.0.1\ndns_rfc2136_port = {env['srv'].port}\n"
                f"dns_rfc2136_name = {TSIG_NAME}\ndns_rfc2136_secret = {TSIG_SECRET}\n"
                "dns_rfc2136_algorithm = HMAC-SHA256\n")
    cenv = dict(os.environ, REQUESTS_CA_BUNDLE=os.path.join(env["peb"]["dir"], "ca.pem"))
    name = f"cb.{ZONE}"
    args = [acmelib.tool("certbot"), "certonly", "--non-interactive", "--agree-tos",
            "--register-unsafely-without-email", "--server", env["peb"]["url"],
            "--config-dir", os.path.join(d, "config"), "--work-dir", os.path.join(d, "work"),
            "--logs-dir", os.path.join(d, "logs"), "--authenticator", "dns-rfc2136",
            "--dns-rfc2136-credentials", creds, "--dns-rfc2136-propagation-seconds", "1",
            "-d", name]
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=cenv)
    assert p.returncode == 0, p.stdout + p.stderr
    live = os.path.join(d, "config", "live", name)
    acmelib.check_certificate(env["peb"], os.path.join(live, "cert.pem"),
                              os.path.join(live, "chain.pem"), [name])
    no_challenge_left(env, name)
