"""The npm client @firstdorsal/powerdns-api (tests/clients, installed from its lock file by
scripts/clients.sh), unchanged, against ensign: create a zone (it sends no nameservers), set
records (it sends name, type and ttl inside each record), append a record (it searches with
search-data first and must keep the records already there), search, delete records, delete
the zone. DNS (dnspython) answers what the client did at each step."""
import json
import os
import shutil
import subprocess

import dns.message
import dns.query
import dns.rcode
import pytest

import servelib

KEY = "npm-client-key"
ZONE = "npm.test"  # the client takes second-level names without the final dot
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "..", "clients")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    node = shutil.which("node")
    assert node, "node is missing: scripts/deps.sh installs it"
    assert os.path.isdir(os.path.join(CLIENTS, "node_modules", "@firstdorsal", "powerdns-api")), \
        "the npm client is missing: run scripts/clients.sh (make check does)"
    work = tmp_path_factory.mktemp("npm")
    with servelib.ApiServer(work, KEY) as srv:
        yield node, srv


def call(env, method, *args):
    node, srv = env
    p = subprocess.run([node, os.path.join(CLIENTS, "pdns_npm.js"),
                        srv.base + "/api/v1/servers/localhost", KEY, method, json.dumps(args)],
                       capture_output=True, text=True, timeout=60, cwd=CLIENTS)
    assert p.returncode == 0, p.stderr
    # the client prints the error bodies it gets (console.log): only the result may come
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1, p.stdout
    return json.loads(lines[0])


def answer(env, name, rdtype):
    _, srv = env
    q = dns.message.make_query(name, rdtype)
    r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=10)
    return r.rcode(), sorted(rd.to_text() for rrset in r.answer for rd in rrset)


def test_create_set_append_search_delete(env):
    soa = call(env, "createZone", ZONE)
    assert soa and soa["type"] == "SOA" and soa["name"] == ZONE + "."
    assert answer(env, ZONE + ".", "SOA")[0] == dns.rcode.NOERROR

    www = f"www.{ZONE}"
    done = call(env, "setRecords", [
        {"name": www, "type": "A", "ttl": 300, "content": ["192.0.2.1"]},
        {"name": ZONE, "type": "TXT", "ttl": 300, "content": ['"hello npm"']},
        {"name": f"mail.{ZONE}", "type": "MX", "ttl": 300, "content": [f"10 mx.{ZONE}."]},
    ])
    assert done == [True, True, True]
    assert answer(env, www + ".", "A") == (dns.rcode.NOERROR, ["192.0.2.1"])
    assert answer(env, ZONE + ".", "TXT") == (dns.rcode.NOERROR, ['"hello npm"'])

    # appending searches for the name first; the record already there must stay
    assert call(env, "appendRecord",
                {"name": www, "type": "A", "ttl": 300, "content": ["192.0.2.2"]}) == [True]
    assert answer(env, www + ".", "A") == (dns.rcode.NOERROR, ["192.0.2.1", "192.0.2.2"])
    rrsets = {(r["name"], r["type"]): r for r in call(env, "getZone", ZONE)}
    assert sorted(x["content"] for x in rrsets[(www + ".", "A")]["records"]) == \
        ["192.0.2.1", "192.0.2.2"]

    found = call(env, "search", {"query": www, "max": 10, "object_type": "record"})
    assert sorted((h["name"], h["type"], h["content"]) for h in found) == \
        [(www + ".", "A", "192.0.2.1"), (www + ".", "A", "192.0.2.2")]
    zones = call(env, "search", {"query": "*.test", "max": 10, "object_type": "zone"})
    assert zones == [{"object_type": "zone", "zone_id": ZONE + ".", "name": ZONE + "."}]

    assert call(env, "deleteRecords", [{"name": www, "type": "A"}]) is True
    assert answer(env, www + ".", "A")[0] == dns.rcode.NXDOMAIN
    assert answer(env, ZONE + ".", "TXT") == (dns.rcode.NOERROR, ['"hello npm"'])

    assert call(env, "deleteZone", ZONE) is True
    assert call(env, "getZones") == []
