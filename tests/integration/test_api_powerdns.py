"""What PowerDNS 4.9 does for API clients, ensign does: fields PowerDNS ignores are ignored
(RRset "kind", record "name"/"type"/"ttl", a TTL on DELETE), a record "priority" is refused as
PowerDNS refuses it, names in content must be absolute ("@" and names without the final dot are
a 422 naming the field), a TXT string over 255 octets is split into strings of 255 on the wire
(dnspython reads the answer) and shown again as given, zone objects carry every field PowerDNS
gives, /config, /statistics and /search-data have PowerDNS's shapes and wildcard rules, a zone
may be created without nameservers, and a malformed zone id is one 4xx (422, code
invalid-zone-id) on every zone route of the route table, never a 5xx."""
import os
import re

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
import requests

import servelib

KEY = "pdns-compat-key"
SERVER = "/api/v1/servers/localhost"
ZONES = SERVER + "/zones"
ZONE = "compat.test."
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("pdns")
    with servelib.ApiServer(work, KEY, extra=["--api-rate", "1000000"]) as srv:
        s = requests.Session()
        s.headers["X-API-Key"] = KEY
        r = s.post(srv.base + ZONES, json={"name": ZONE, "kind": "Native",
                                           "nameservers": [f"ns1.{ZONE}"]}, timeout=30)
        assert r.status_code == 201, r.text
        yield srv, s


def call(env, method, path, **kw):
    srv, s = env
    return s.request(method, srv.base + path, timeout=60, **kw)


def query(env, name, rdtype):
    srv, _ = env
    q = dns.message.make_query(name, rdtype)
    return dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=10)


def patch(env, rrsets, zone=ZONE):
    return call(env, "PATCH", f"{ZONES}/{zone}", json={"rrsets": rrsets})


# ---- malformed zone ids on every zone route ----

# ("..", "." would be resolved away by the HTTP client before they are sent)
BAD_IDS = ["a..b", "x..", "a" * 64 + ".test.", "abc." * 70, "=ZZ", "=4", "a=",
           "x=00y.test.", ".x.test."]


def zone_routes():
    """(method, pattern) of every route of src/api/routes.c under zones/*."""
    with open(os.path.join(ROOT, "src", "api", "routes.c")) as f:
        text = f.read()
    routes = re.findall(r'\{"(GET|PUT|POST|PATCH|DELETE)",\s*"([^"]+)"', text)
    return [(m, p) for m, p in routes if "/zones/*" in p]


def test_route_table_has_zone_routes():
    # the walk below must see the table, or it proves nothing
    routes = zone_routes()
    assert len(routes) >= 20, routes
    for want in ("metadata/*", "export", "cryptokeys/*", "dnssec", "notify", "rectify"):
        assert any(p.endswith(want) for _, p in routes), want


def test_every_zone_route_refuses_a_malformed_id_the_same_way(env):
    fill = {"cryptokeys": "1", "metadata": "ALSO-NOTIFY"}
    problems = []
    for method, pattern in zone_routes():
        segs = pattern.split("/")
        for bad in BAD_IDS:
            out = []
            for i, seg in enumerate(segs):
                if seg != "*":
                    out.append(seg)
                elif segs[i - 1] == "servers":
                    out.append("localhost")
                elif segs[i - 1] == "zones":
                    out.append(bad)
                else:
                    out.append(fill[segs[i - 1]])
            path = "/" + "/".join(out)
            r = call(env, method, path, data=b"{}",
                     headers={"Content-Type": "application/json"})
            ok = r.status_code == 422
            try:
                ok = ok and r.json().get("code") == "invalid-zone-id"
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)


# ---- tolerance: what PowerDNS ignores ----

def test_fields_powerdns_ignores_are_ignored(env):
    # lego's pdns provider: "kind" in the RRset, name/type/ttl in each record
    name = f"_acme-challenge.www.{ZONE}"
    rrset = {"name": name, "type": "TXT", "kind": "Master", "ttl": 120, "changetype": "REPLACE",
             "records": [{"content": '"token-1"', "disabled": False, "name": name,
                          "type": "TXT", "ttl": 120}]}
    assert patch(env, [rrset]).status_code == 204
    a = query(env, name, "TXT").answer
    assert [r.to_text() for r in a[0]] == ['"token-1"']
    # a DELETE with a TTL (and records, and a TTL PowerDNS would not read)
    r = patch(env, [{"name": name, "type": "TXT", "ttl": 120, "changetype": "DELETE",
                     "records": [{"content": '"token-1"'}]}])
    assert r.status_code == 204, r.text
    assert query(env, name, "TXT").rcode() == dns.rcode.NXDOMAIN
    # the npm client's records: content, disabled, ttl, name, type
    r = patch(env, [{"name": f"npm.{ZONE}", "type": "A", "ttl": 300, "changetype": "REPLACE",
                     "records": [{"content": "192.0.2.5", "disabled": False, "ttl": 300,
                                  "name": f"npm.{ZONE}", "type": "A"}]}])
    assert r.status_code == 204, r.text


def test_what_powerdns_refuses_is_still_refused_with_the_field(env):
    r = patch(env, [{"name": f"p.{ZONE}", "type": "MX", "ttl": 60, "changetype": "REPLACE",
                     "records": [{"content": f"10 mx.{ZONE}", "priority": 10}]}])
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["rrsets[0].records[0].priority"]
    r = patch(env, [{"name": f"p.{ZONE}", "type": "A", "changetype": "REPLACE",
                     "records": [{"content": "192.0.2.1"}]}])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rrsets[0].ttl"
    assert set(r.json()) >= {"error", "code"}


RELATIVE = [("CNAME", "www.example.com", "www.example.com."),
            ("MX", "10 mail.example.com", "10 mail.example.com."),
            ("NS", "ns2", "ns2."),
            ("SRV", "0 5 5060 sip.example.com", "0 5 5060 sip.example.com."),
            ("CNAME", "@", None),
            ("PTR", "host.example", "host.example.")]


@pytest.mark.parametrize("case", range(len(RELATIVE)))
def test_relative_names_in_content_are_refused_naming_the_field(env, case):
    rtype, content, read = RELATIVE[case]
    owner = f"rel-{case}.{ZONE}"
    recs = [{"content": ok} for ok in {"CNAME": [], "MX": [f"20 mx.{ZONE}"],
                                       "NS": [f"ns1.{ZONE}"], "SRV": [], "PTR": []}[rtype]]
    recs.append({"content": content})
    r = patch(env, [{"name": owner, "type": rtype, "ttl": 60, "changetype": "REPLACE",
                     "records": recs}])
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [e["field"] for e in errors] == [f"rrsets[0].records[{len(recs) - 1}].content"]
    assert "absolute" in errors[0]["error"]
    if read is not None:
        assert f"'{read}'" in errors[0]["error"], errors
    # nothing was appended silently: the name does not exist
    assert query(env, owner, rtype).rcode() == dns.rcode.NXDOMAIN
    # the same with the final dot is taken
    if read is not None:
        recs[-1] = {"content": read}
        r = patch(env, [{"name": owner, "type": rtype, "ttl": 60, "changetype": "REPLACE",
                         "records": recs}])
        assert r.status_code == 204, r.text


def test_nameservers_must_be_absolute(env):
    r = call(env, "POST", ZONES, json={"name": "rel-ns.test.", "kind": "Native",
                                       "nameservers": ["ns1.rel-ns.test"]})
    assert r.status_code == 422 and "nameservers[0]" in r.json()["error"], r.text


def test_long_txt_is_split_on_the_wire_and_shown_as_given(env):
    dkim = "v=DKIM1; k=rsa; p=" + "A" * 380 + "\\\"Q"  # an escaped quote counts as one octet
    content = f'"{dkim}"'
    name = f"sel._domainkey.{ZONE}"
    exact = '"' + "y" * 255 + '" ""'  # a full string then an empty one: two strings
    r = patch(env, [{"name": name, "type": "TXT", "ttl": 300, "changetype": "REPLACE",
                     "records": [{"content": content}, {"content": '"short" "two"'},
                                 {"content": exact}]}])
    assert r.status_code == 204, r.text
    wire = {tuple(rd.strings) for rd in query(env, name, "TXT").answer[0]}
    octets = dkim.replace('\\"', '"').encode()
    assert wire == {(octets[:255], octets[255:]), (b"short", b"two"), (b"y" * 255, b"")}
    z = call(env, "GET", f"{ZONES}/{ZONE}?rrset_name={name}&rrset_type=TXT").json()
    shown = sorted(rec["content"] for rec in z["rrsets"][0]["records"])
    assert shown == sorted([content, '"short" "two"', exact])
    # beyond what one record can hold: refused, naming the field
    r = patch(env, [{"name": name, "type": "TXT", "ttl": 300, "changetype": "REPLACE",
                     "records": [{"content": '"' + "x" * 66000 + '"'}]}])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rrsets[0].records[0].content"


# ---- objects as PowerDNS shapes them ----

ZONE_FIELDS = {"id", "name", "type", "url", "kind", "serial", "notified_serial", "edited_serial",
               "masters", "dnssec", "nsec3param", "nsec3narrow", "presigned", "soa_edit",
               "soa_edit_api", "api_rectify", "account", "last_check", "catalog"}


def test_zone_objects_carry_every_powerdns_field(env):
    listed = [z for z in call(env, "GET", ZONES).json() if z["name"] == ZONE][0]
    assert set(listed) >= ZONE_FIELDS, ZONE_FIELDS - set(listed)
    assert listed["last_check"] == 0 and listed["catalog"] == ""
    one = call(env, "GET", f"{ZONES}/{ZONE}").json()
    assert set(one) >= ZONE_FIELDS | {"master_tsig_key_ids", "slave_tsig_key_ids", "rrsets"}
    assert one["master_tsig_key_ids"] == [] and one["slave_tsig_key_ids"] == []
    assert call(env, "POST", SERVER + "/tsigkeys", json={"name": "xfr"}).status_code == 201
    r = call(env, "PUT", f"{ZONES}/{ZONE}/metadata/TSIG-ALLOW-AXFR", json={"metadata": ["xfr"]})
    assert r.status_code == 200, r.text
    assert call(env, "GET", f"{ZONES}/{ZONE}").json()["master_tsig_key_ids"] == ["xfr."]
    server = call(env, "GET", SERVER).json()
    assert set(server) >= {"type", "id", "url", "daemon_type", "version", "config_url",
                           "zones_url"}


def test_config_and_statistics_as_powerdns_lists(env):
    srv, _ = env
    conf = call(env, "GET", SERVER + "/config").json()
    assert isinstance(conf, list) and conf
    for item in conf:
        assert set(item) == {"type", "name", "value"} and item["type"] == "ConfigSetting"
        assert isinstance(item["value"], str)
    by = {c["name"]: c["value"] for c in conf}
    assert by["api-key"] == "***" and KEY not in str(conf)
    assert by["webserver-port"] == srv.base.rsplit(":", 1)[1]
    one = call(env, "GET", SERVER + "/config/webserver-address").json()
    assert one == {"type": "ConfigSetting", "name": "webserver-address", "value": "127.0.0.1"}
    r = call(env, "GET", SERVER + "/config/no-such-setting")
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    stats = call(env, "GET", SERVER + "/statistics").json()
    for item in stats:
        assert set(item) == {"type", "name", "value"} and item["type"] == "StatisticItem"
        assert item["value"].isdigit()
    names = {s["name"] for s in stats}
    assert {"uptime", "signatures", "zones"} <= names
    one = call(env, "GET", SERVER + "/statistics?statistic=zones").json()
    assert len(one) == 1 and one[0]["name"] == "zones" and int(one[0]["value"]) >= 1
    r = call(env, "GET", SERVER + "/statistics?statistic=nope")
    assert r.status_code == 422


# ---- search-data ----

def test_search_data_has_powerdns_wildcards_and_shape(env):
    for z in ("search-one.test.", "search-two.test."):
        r = call(env, "POST", ZONES, json={"name": z, "kind": "Native",
                                           "nameservers": ["ns.example.net."]})
        assert r.status_code == 201, r.text
    r = patch(env, [{"name": "www.search-one.test.", "type": "A", "ttl": 300,
                     "changetype": "REPLACE", "records": [{"content": "192.0.2.10"},
                                                          {"content": "192.0.2.11"}]},
                    {"name": "alias.search-one.test.", "type": "CNAME", "ttl": 300,
                     "changetype": "REPLACE", "records": [{"content": "www.search-one.test."}]}],
              zone="search-one.test.")
    assert r.status_code == 204, r.text

    def search(q, **kw):
        r = call(env, "GET", SERVER + "/search-data", params={"q": q, **kw})
        assert r.status_code == 200, r.text
        return r.json()

    # a name matches without its final dot, the whole text, any letter case
    hits = [h for h in search("WWW.search-one.test", object_type="record") if h["type"] == "A"]
    assert sorted(h["content"] for h in hits) == ["192.0.2.10", "192.0.2.11"]
    for h in hits:
        assert h == {"object_type": "record", "name": "www.search-one.test.", "type": "A",
                     "ttl": 300, "disabled": False, "content": h["content"],
                     "zone_id": "search-one.test.", "zone": "search-one.test."}
    assert search("www.search-one.test.", object_type="record") == []
    assert search("www.search-one", object_type="record") == []
    # content matches too (the CNAME's target, without its dot)
    assert {h["type"] for h in search("www.search-one.test")} == {"A", "CNAME"}
    # '*' and '?'
    zones = search("search-*", object_type="zone")
    assert zones == [{"object_type": "zone", "zone_id": "search-one.test.",
                      "name": "search-one.test."},
                     {"object_type": "zone", "zone_id": "search-two.test.",
                      "name": "search-two.test."}]
    assert [z["name"] for z in search("search-t?o.test", object_type="zone")] == \
        ["search-two.test."]
    assert search("search-t?.test", object_type="zone") == []
    # max bounds zones and records each; zones come first
    both = search("*search-*", max="1")
    assert [h["object_type"] for h in both] == ["zone", "record"]
    assert search("*", object_type="comment") == []
    # a hostile pattern costs little
    assert search("*a" * 400 + "b", object_type="record") == []
    for bad in ({"q": ""}, {"q": "x", "max": "0"}, {"q": "x", "max": "ten"},
                {"q": "x", "object_type": "rrset"}, {"q": "x" * 2000}, {}):
        r = call(env, "GET", SERVER + "/search-data", params=bad)
        assert r.status_code == 422 and r.json()["code"] == "invalid-field", (bad, r.text)
    # a token limited to one zone finds only there
    r = call(env, "POST", "/api/v1/tokens", json={"name": "s", "permission": "read",
                                                  "zones": ["search-two.test."]})
    assert r.status_code == 201, r.text
    srv, _ = env
    t = requests.get(srv.base + SERVER + "/search-data", params={"q": "search-*"},
                     headers={"X-API-Key": r.json()["token"]}, timeout=30)
    assert t.status_code == 200 and len(t.json()) >= 3, t.text  # the zone, its NS and SOA
    assert {h.get("zone", h["name"]) for h in t.json()} == {"search-two.test."}


# ---- zones without nameservers, DNS UPDATE metadata ----

def test_zone_created_without_nameservers_as_powerdns_allows(env):
    r = call(env, "POST", ZONES, json={"name": "bare.test.", "kind": "Native"})
    assert r.status_code == 201, r.text
    assert [rs["type"] for rs in r.json()["rrsets"]] == ["SOA"]
    assert query(env, "bare.test.", "SOA").rcode() == dns.rcode.NOERROR
    r = patch(env, [{"name": "www.bare.test.", "type": "A", "ttl": 60, "changetype": "REPLACE",
                     "records": [{"content": "192.0.2.1"}]}], zone="bare.test.")
    assert r.status_code == 204, r.text
    assert call(env, "DELETE", f"{ZONES}/bare.test.").status_code == 204


def test_dns_update_metadata_kinds_are_stored_and_checked(env):
    meta = f"{ZONES}/{ZONE}/metadata"
    assert call(env, "POST", SERVER + "/tsigkeys", json={"name": "upd"}).status_code == 201
    r = call(env, "PUT", meta + "/TSIG-ALLOW-DNSUPDATE", json={"metadata": ["upd", "upd."]})
    assert r.status_code == 200, r.text
    assert r.json() == {"type": "Metadata", "kind": "TSIG-ALLOW-DNSUPDATE",
                        "metadata": ["upd", "upd."]}
    r = call(env, "PUT", meta + "/tsig-allow-dnsupdate", json={"metadata": ["nokey."]})
    assert r.status_code == 422 and "metadata[0]" in r.json()["error"], r.text
    r = call(env, "POST", meta, json={"kind": "ALLOW-DNSUPDATE-FROM",
                                      "metadata": ["192.0.2.0/24", "2001:db8::/48", "::1"]})
    assert r.status_code == 201, r.text
    for bad in ("AUTO-NS", "192.0.2.0/33", "not-an-address", "2001:db8::/129", ""):
        r = call(env, "PUT", meta + "/ALLOW-DNSUPDATE-FROM", json={"metadata": [bad]})
        assert r.status_code == 422 and "metadata[0]" in r.json()["error"], (bad, r.text)
    kinds = {m["kind"]: m["metadata"] for m in call(env, "GET", meta).json()}
    assert kinds["ALLOW-DNSUPDATE-FROM"] == ["192.0.2.0/24", "2001:db8::/48", "::1"]
    assert kinds["TSIG-ALLOW-DNSUPDATE"] == ["upd", "upd."]
