"""The `ensign zone|record|dnssec|key|ds` commands against a running `ensign serve`: tables for
people, --json for scripts, the settings from flags, environment or a config file, and exit
statuses that say what went wrong."""
import json
import os
import subprocess

import dns.dnssec
import dns.message
import dns.name
import dns.query
import pytest

import servelib

KEY = "cli-admin-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    with servelib.ApiServer(work, KEY, test_clock="now") as srv:
        url = srv.base
        yield url, srv.port, work, srv


def ensign(*args, url=None, token=KEY, env_extra=None, check=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENSIGN_") or k == "ENSIGN_BIN"}
    env["HOME"] = "/nonexistent"
    env.pop("XDG_CONFIG_HOME", None)
    if url is not None:
        env["ENSIGN_URL"] = url
    if token is not None:
        env["ENSIGN_TOKEN"] = token
    env.update(env_extra or {})
    p = subprocess.run([servelib.ENSIGN, *args], capture_output=True, text=True, env=env,
                       timeout=60)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def query(port, name, rdtype, dnssec=False):
    q = dns.message.make_query(name, rdtype, want_dnssec=dnssec)
    return dns.query.tcp(q, "127.0.0.1", port=port, timeout=5)


def test_zone_and_record_commands(server):
    url, port, _, _ = server
    ensign("zone", "create", "cli.test", "--ns", "ns1.example.net.", url=url, check=0)
    out = ensign("zone", "list", url=url, check=0).stdout
    assert "cli.test." in out and "ZONE" in out
    listed = json.loads(ensign("zone", "list", "--json", url=url, check=0).stdout)
    assert any(z["name"] == "cli.test." for z in listed)
    ensign("record", "set", "cli.test", "www", "A", "300", "192.0.2.7", "192.0.2.8", url=url,
           check=0)
    ans = query(port, "www.cli.test.", "A")
    assert sorted(r.address for r in ans.answer[0]) == ["192.0.2.7", "192.0.2.8"]
    rows = ensign("record", "list", "cli.test", "--name", "www", "--type", "A", url=url,
                  check=0).stdout.splitlines()
    assert len(rows) == 2 and all("\tA\t" in r for r in rows)
    ensign("record", "delete", "cli.test", "www", "A", url=url, check=0)
    assert query(port, "www.cli.test.", "A").rcode() == dns.rcode.NXDOMAIN
    exported = ensign("zone", "export", "cli.test", url=url, check=0).stdout
    assert "SOA" in exported
    # A bad record: refused, the field named, exit 1.
    p = ensign("record", "set", "cli.test", "mx", "MX", "60", "no-preference.cli.test.", url=url,
               check=1)
    assert "records[0].content" in p.stderr


def test_dnssec_and_keys(server):
    url, port, _, srv = server
    ensign("zone", "create", "sec.test", "--ns", "ns1.example.net.", url=url, check=0)
    st = ensign("dnssec", "enable", "sec.test", url=url, check=0).stdout
    assert "dnssec:        on" in st
    ds_lines = ensign("ds", "sec.test", url=url, check=0).stdout.splitlines()
    served = query(port, "sec.test.", "DNSKEY", dnssec=True).answer[0]
    want = {dns.dnssec.make_ds("sec.test.", served[0], "SHA256").to_text(),
            dns.dnssec.make_ds("sec.test.", served[0], "SHA384").to_text()}
    assert {line.split("\tDS\t")[1] for line in ds_lines} == want
    keys = json.loads(ensign("key", "list", "sec.test", "--json", url=url, check=0).stdout)
    assert len(keys) == 1
    new = json.loads(ensign("key", "generate", "sec.test", "--role", "zsk", "--algorithm",
                            "ecdsa-p256", "--json", url=url, check=0).stdout)
    ensign("key", "activate", "sec.test", str(new["id"]), url=url, check=0)
    table = ensign("key", "list", "sec.test", url=url, check=0).stdout
    assert "zsk" in table and "csk" in table
    # A published key is not deleted at once (exit 4, the safe order printed).
    p = ensign("key", "delete", "sec.test", str(new["id"]), url=url, check=4)
    assert "bogus" in p.stderr
    # The CSK takes over the data signatures: refused while its DNSKEY may be missing from a
    # cache (published in the same second as the new key); allowed once the DNSKEY TTL plus
    # propagation has passed.
    p = ensign("key", "deactivate", "sec.test", str(new["id"]), url=url, check=4)
    assert "not yet in every cache" in p.stderr, p.stderr
    srv.clock(advance=3900)
    ensign("key", "deactivate", "sec.test", str(new["id"]), url=url, check=0)
    # Its signatures may still be cached: unpublishing now is premature (the wait is shown);
    # --force does it anyway and the audit log says so.
    p = ensign("key", "unpublish", "sec.test", str(new["id"]), url=url, check=4)
    assert "wait" in p.stderr and "Iret" in p.stderr, p.stderr
    ensign("key", "unpublish", "sec.test", str(new["id"]), "--force", url=url, check=0)
    ensign("key", "delete", "sec.test", str(new["id"]), "--force", url=url, check=0)
    ensign("key", "delete", "sec.test", str(new["id"]), url=url, check=3)


def test_exit_statuses(server, tmp_path):
    url, _, _, _ = server
    ensign("zone", "export", "missing.test", url=url, check=3)
    ensign("zone", "create", "dup.test", "--ns", "ns1.example.net.", url=url, check=0)
    ensign("zone", "create", "dup.test", "--ns", "ns1.example.net.", url=url, check=4)
    ensign("zone", "list", url=url, token="wrong", check=6)
    ensign("zone", "list", url=f"http://127.0.0.1:{servelib.free_port()}", check=5)
    ensign("zone", "frobnicate", url=url, check=2)
    assert "usage" in ensign("zone", "--help", url=url, check=0).stdout
    # Settings from a config file when neither flags nor environment give them.
    conf = tmp_path / "config"
    conf.write_text(f"# ensign\nurl = {url}\ntoken = {KEY}\n")
    ensign("zone", "list", "--config", str(conf), token=None, check=0)
    ensign("zone", "list", "--url", url, "--token", KEY, token=None, check=0)


def test_zone_import(server, tmp_path):
    url, port, _, _ = server
    f = tmp_path / "imp.zone"
    f.write_text("$ORIGIN imp.test.\n$TTL 300\n@ SOA ns1 hm 7 3600 600 86400 300\n@ NS ns1\n"
                 "ns1 A 192.0.2.1\nwww A 192.0.2.2\n")
    ensign("zone", "import", "imp.test", str(f), url=url, check=0)
    assert query(port, "www.imp.test.", "A").answer[0][0].address == "192.0.2.2"
    f.write_text("$ORIGIN imp.test.\n$TTL 300\n@ SOA ns1 hm 7 3600 600 86400 300\n@ NS ns1\n"
                 "ns1 A 192.0.2.1\nwww A 192.0.2.3\n")
    ensign("zone", "import", "imp.test", str(f), url=url, check=0)
    assert query(port, "www.imp.test.", "A").answer[0][0].address == "192.0.2.3"
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN bad.test.\n@ SOA ns1 hm 1 1 1 1 1\nwww A 999.1.1.1\n")
    p = ensign("zone", "import", "bad.test", str(bad), url=url, check=1)
    assert "zone:3:" in p.stderr
