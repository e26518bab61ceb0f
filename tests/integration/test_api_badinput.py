"""A bad-input corpus against the routes that take a body (PATCH, POST, PUT): malformed JSON
(truncated, invalid UTF-8, NUL bytes, 100000 levels of nesting, huge numbers, duplicate keys),
wrong types for each field, unknown fields, invalid names, invalid rdata for many types, record
content that tries to smuggle in more zone-file lines or `$INCLUDE`, a body over the size limit
and a PATCH of 5000 RRsets. Every refusal is a 4xx with a JSON body carrying `error` and `code`
(and `errors` naming the fields when there are several), never a 5xx; refused changes change
nothing, and the server is still alive and clean at the end."""
import json

import dns.message
import dns.query
import dns.rcode
import pytest
import requests

import servelib

KEY = "badinput-admin-key"
ZONE = "bad.test."
ZONES = "/api/v1/servers/localhost/zones"
ZPATH = f"{ZONES}/{ZONE}"


class Env:
    def __init__(self, base, dns_port):
        self.base = base
        self.dns_port = dns_port
        self.s = requests.Session()
        self.s.headers["X-API-Key"] = KEY
        self.problems = []

    def raw(self, method, path, data, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.s.request(method, self.base + path, data=data, headers=h, timeout=60)

    def req(self, method, path, body):
        return self.raw(method, path, json.dumps(body).encode())

    def expect(self, what, r, status=None, fields=None, allow_ok=False):
        """Records a problem unless r is a proper refusal (4xx, JSON error and code; `status`
        when given; each of `fields` named in errors[]) or, with allow_ok, a success."""
        st = r.status_code
        where = f"{r.request.method} {r.request.path_url} [{what}]"
        if allow_ok and 200 <= st < 300:
            return
        if not 400 <= st < 500:
            self.problems.append(f"{where}: expected 4xx, got {st}: {r.text[:300]}")
            return
        if status is not None and st != status:
            self.problems.append(f"{where}: expected {status}, got {st}: {r.text[:300]}")
        try:
            body = r.json()
        except ValueError:
            self.problems.append(f"{where}: {st} without a JSON body: {r.text[:300]!r}")
            return
        if not isinstance(body, dict) or not isinstance(body.get("error"), str) or \
                not isinstance(body.get("code"), str):
            self.problems.append(f"{where}: {st} body lacks error/code: {r.text[:300]}")
            return
        if fields:
            named = {e.get("field") for e in body.get("errors", []) if isinstance(e, dict)}
            missing = [f for f in fields if f not in named]
            if missing:
                self.problems.append(f"{where}: errors[] does not name {missing}: "
                                     f"{r.text[:400]}")

    def check(self):
        assert not self.problems, "\n".join(self.problems)

    def query(self, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        return dns.query.tcp(q, "127.0.0.1", port=self.dns_port, timeout=10)

    def serial(self):
        r = self.s.get(self.base + ZPATH, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["serial"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("badinput")
    with servelib.ApiServer(work, KEY, extra=["--api-rate", "1000000"]) as srv:
        base = srv.base
        e = Env(base, srv.port)
        r = e.req("POST", ZONES, {"name": ZONE, "kind": "Native", "nameservers": [f"ns1.{ZONE}"],
                                  "rrsets": [{"name": f"ns1.{ZONE}", "type": "A", "ttl": 300,
                                              "records": [{"content": "192.0.2.53"}]}]})
        assert r.status_code == 201, r.text
        yield base, srv.port
        # Still alive and answering after the whole corpus.
        assert e.s.get(base + "/api/v1/servers/localhost", timeout=10).status_code == 200
        assert e.query(ZONE, "SOA").rcode() == dns.rcode.NOERROR


@pytest.fixture()
def env(server):
    return Env(*server)


def rrset(name="a.bad.test.", rtype="A", ttl=300, changetype="REPLACE", records=None):
    return {"name": name, "type": rtype, "ttl": ttl, "changetype": changetype,
            "records": records if records is not None else [{"content": "192.0.2.1",
                                                             "disabled": False}]}


# Bodies that are not JSON at all, or JSON that must not be taken.
MALFORMED = [
    ("empty", b""),
    ("truncated", b'{"rrsets": [{"name": "a.bad.test.", "type": "A"'),
    ("truncated string", b'{"rrsets": [{"name": "a.bad.te'),
    ("trailing garbage", b'{"rrsets": []} xyz'),
    ("invalid UTF-8", b'{"rrsets": [{"name": "\xff\xfe.bad.test.", "type": "A"}]}'),
    ("overlong UTF-8", b'{"name": "\xc0\xae.bad.test."}'),
    ("lone surrogate escape", b'{"name": "\\ud800.bad.test."}'),
    ("raw NUL in string", b'{"rrsets": [{"name": "a\x00b.bad.test."}]}'),
    ("escaped NUL", b'{"rrsets": [{"name": "a\\u0000b.bad.test.", "type": "A", "ttl": 1,'
                    b' "changetype": "REPLACE", "records": [{"content": "192.0.2.1"}]}]}'),
    ("NUL after the object", b'{"rrsets": []}\x00'),
    ("NUL only", b"\x00"),
    ("nested arrays 100000", b"[" * 100000 + b"]" * 100000),
    ("nested objects 100000", b'{"a":' * 100000 + b"1" + b"}" * 100000),
    ("nested in rrsets", b'{"rrsets": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
    ("unclosed nesting", b"[" * 100000),
    ("huge float", b'{"rrsets": [{"name": "a.bad.test.", "type": "A", "ttl": 1e400}]}'),
    ("huge integer", b'{"rrsets": [{"name": "a.bad.test.", "type": "A", "ttl": '
                     + b"9" * 400 + b"}]}"),
    ("duplicate keys", b'{"rrsets": [], "rrsets": []}'),
    ("single quotes", b"{'rrsets': []}"),
    ("NaN", b'{"rrsets": [{"ttl": NaN}]}'),
    ("comment", b'{"rrsets": [] /* x */}'),
    ("BOM", b'\xef\xbb\xbf{"rrsets": []}'),
]

# JSON that is well formed but not an object.
NOT_OBJECTS = [b"null", b"[]", b'"rrsets"', b"42", b"true", b"[{}]"]

BODY_ROUTES = [
    ("PATCH", ZPATH),
    ("POST", ZONES),
    ("PUT", ZPATH),
    ("POST", f"{ZPATH}/cryptokeys"),
    ("PUT", f"{ZPATH}/dnssec"),
    ("POST", f"{ZPATH}/metadata"),
    ("POST", "/api/v1/tokens"),
    ("POST", "/api/v1/servers/localhost/tsigkeys"),
]


def test_malformed_json(env):
    before = env.serial()
    for method, path in BODY_ROUTES:
        for what, data in MALFORMED:
            env.expect(what, env.raw(method, path, data), status=400)
        for data in NOT_OBJECTS:
            env.expect(data.decode(), env.raw(method, path, data))
    env.check()
    assert env.serial() == before


def test_wrong_types_in_patch(env):
    before = env.serial()
    cases = []
    for v in (1, None, [], {}, True, ""):
        cases.append((f"name={v!r}", [rrset(name=v)], ["rrsets[0].name"]))
    for v in (1, None, [], "", "NOTATYPE", "TYPE99999999"):
        cases.append((f"type={v!r}", [rrset(rtype=v)], ["rrsets[0].type"]))
    for v in ("300", True, 1.5, -1, 2 ** 31, 2 ** 63 - 1, -(2 ** 63), [], {}):
        cases.append((f"ttl={v!r}", [rrset(ttl=v)], ["rrsets[0].ttl"]))
    for v in (1, None, [], "UPSERT", "", "replace "):
        cases.append((f"changetype={v!r}", [rrset(changetype=v)], ["rrsets[0].changetype"]))
    for v in ("192.0.2.1", {}, 1, True):
        cases.append((f"records={v!r}", [rrset(records=v)], ["rrsets[0].records"]))
    cases += [
        ("record not an object", [rrset(records=["192.0.2.1"])], ["rrsets[0].records[0]"]),
        ("content a number", [rrset(records=[{"content": 1}])],
         ["rrsets[0].records[0].content"]),
        ("content null", [rrset(records=[{"content": None}])],
         ["rrsets[0].records[0].content"]),
        ("content missing", [rrset(records=[{"disabled": False}])],
         ["rrsets[0].records[0].content"]),
        ("disabled a string", [rrset(records=[{"content": "192.0.2.1", "disabled": "no"}])],
         ["rrsets[0].records[0].disabled"]),
        ("disabled a number", [rrset(records=[{"content": "192.0.2.1", "disabled": 0}])],
         ["rrsets[0].records[0].disabled"]),
        ("rrset not an object", ["a.bad.test. A 192.0.2.1"], ["rrsets[0]"]),
        ("rrset null", [None], ["rrsets[0]"]),
    ]
    for what, rrsets, fields in cases:
        env.expect(what, env.req("PATCH", ZPATH, {"rrsets": rrsets}), fields=fields)
    for v in ({}, "x", 1, None):
        env.expect(f"rrsets={v!r}", env.req("PATCH", ZPATH, {"rrsets": v}), status=422)
    env.expect("no rrsets", env.req("PATCH", ZPATH, {}), status=422)
    env.check()
    assert env.serial() == before


def test_unknown_fields_and_several_errors(env):
    before = env.serial()
    # PowerDNS ignores fields it does not know (lego sends "kind" in RRsets and "name", "type",
    # "ttl" in records): so does ensign, and the change is made.
    rec = [{"content": "192.0.2.7", "disabled": False, "name": "x", "type": 5, "ttl": "?"}]
    r = env.req("PATCH", ZPATH, {"rrsets": [dict(rrset(name=f"unk.{ZONE}", records=rec),
                                                 frobnicate=1, kind="Native")]})
    assert r.status_code == 204, r.text
    assert [a.to_text() for a in env.query(f"unk.{ZONE}", "A").answer[0]] == ["192.0.2.7"]
    r = env.req("PATCH", ZPATH, {"rrsets": [{"name": f"unk.{ZONE}", "type": "A", "ttl": "x",
                                             "records": {}, "changetype": "DELETE"}]})
    assert r.status_code == 204, r.text  # a DELETE ignores ttl and records
    assert env.query(f"unk.{ZONE}", "A").rcode() == dns.rcode.NXDOMAIN
    before = env.serial()
    # PowerDNS refuses a priority inside a record: it belongs in content.
    rec = [{"content": "192.0.2.1", "disabled": False, "priority": 10}]
    r = env.req("PATCH", ZPATH, {"rrsets": [rrset(records=rec)]})
    env.expect("unknown record field", r, status=422, fields=["rrsets[0].records[0].priority"])
    # Several bad RRsets: each named.
    r = env.req("PATCH", ZPATH, {"rrsets": [
        rrset(name="ok.bad.test."),
        rrset(name="b.bad.test.", ttl="x"),
        rrset(name="no-dot.bad.test"),
        rrset(name="c.bad.test.", records=[{"content": "300.1.1.1"}, {"content": "::1"}]),
        rrset(name="d.bad.test.", rtype="MX", records=[{"content": "mail.bad.test."}]),
    ]})
    env.expect("several", r, status=422,
               fields=["rrsets[1].ttl", "rrsets[2].name", "rrsets[3].records[0].content",
                       "rrsets[3].records[1].content", "rrsets[4].records[0].content"])
    # The good first RRset was not applied either.
    assert env.query("ok.bad.test.", "A").rcode() == dns.rcode.NXDOMAIN
    # Wrong types and unknown values on the other body routes.
    NS = ["ns1.example.net."]
    for body in ({"name": 1, "kind": "Native", "nameservers": NS},
                 {"name": "c1.test.", "kind": 5, "nameservers": NS},
                 {"name": "c2.test.", "kind": "Slave", "nameservers": NS},
                 {"name": "c3.test.", "kind": "Native", "nameservers": "ns1.t1.test."},
                 {"name": "c4.test.", "kind": "Native", "nameservers": [1]},
                 {"name": "c5.test.", "kind": "Native", "nameservers": ["not a name..."]},
                 {"name": "c6.test.", "kind": "Native", "nameservers": NS, "rrsets": {}},
                 {"name": "c7.test.", "kind": "Native", "nameservers": NS, "zone": 5},
                 {"name": "c8.test.", "kind": "Native", "nameservers": NS, "soa_edit_api": 5},
                 {"name": "c9.test.", "kind": "Native", "nameservers": NS, "dnssec": "yes"},
                 {"name": "a" * 64 + ".test.", "kind": "Native", "nameservers": NS},
                 {"name": "", "kind": "Native", "nameservers": NS},
                 {"name": ".", "kind": "Native", "nameservers": NS, "zone": "x"},
                 {"kind": "Native", "nameservers": NS}):
        env.expect(f"zone create {body}", env.req("POST", ZONES, body))
    for body in ({"kind": 1}, {"kind": "Slave"}, {"soa_edit_api": 5}, {"soa_edit_api": "BOGUS"},
                 {"dnssec": "yes"}, {"rrsets": "x"}, {"rrsets": [None]}, {"zone": ["x"]}):
        env.expect(f"zone put {body}", env.req("PUT", ZPATH, body))
    for body in ({"keytype": "foo"}, {"keytype": 1}, {"keytype": "csk", "algorithm": "nope"},
                 {"keytype": "csk", "algorithm": []}, {"keytype": "csk", "bits": "x"},
                 {"keytype": "csk", "bits": -1}, {"keytype": "csk", "active": "yes"},
                 {"keytype": "csk", "published": 1}):
        env.expect(f"cryptokey {body}", env.req("POST", f"{ZPATH}/cryptokeys", body))
    for body in ({"enabled": "yes"}, {"enabled": 1}, {"enabled": None}):
        env.expect(f"dnssec {body}", env.req("PUT", f"{ZPATH}/dnssec", body))
    for body in ({"name": 1, "permission": "read"}, {"name": "x", "permission": ["read"]},
                 {"name": "x", "permission": "read", "zones": [1]},
                 {"name": "x" * 10000, "permission": "read"}):
        env.expect(f"token {body}", env.req("POST", "/api/v1/tokens", body))
    env.check()
    assert env.serial() == before


def test_invalid_names(env):
    before = env.serial()
    long_label = "a" * 64
    names = [
        f"{long_label}.bad.test.",  # a label over 63 octets
        ".".join(["a" * 63] * 4) + ".bad.test.",  # over 255 octets
        ".".join(["abcdefg"] * 40) + ".bad.test.",  # far over 255 octets
        "a..bad.test.",  # empty label
        "..bad.test.",
        ".bad.test.",
        "bad.test",  # relative
        "www.other.test.",  # outside the zone
        "test.",  # above the zone
        ".",
        "",
        "a\\.b\\",  # a dangling escape
        "a\\999.bad.test.",  # an escape beyond 255
    ]
    for n in names:
        env.expect(f"name {n!r}", env.req("PATCH", ZPATH, {"rrsets": [rrset(name=n)]}),
                   status=422, fields=["rrsets[0].name"])
    for z in (f"{ZONES}/{'a' * 64}.test.", f"{ZONES}/{'abc.' * 70}", f"{ZONES}/=ZZ",
              f"{ZONES}/..", f"{ZONES}/a..b."):
        env.expect(f"zone id {z}", env.req("PATCH", z, {"rrsets": [rrset()]}))
    env.check()
    assert env.serial() == before


BAD_RDATA = [
    ("A", "999.1.1.1"), ("A", "192.0.2"), ("A", "::1"), ("A", "192.0.2.1 192.0.2.2"),
    ("A", ""), ("A", "x"), ("AAAA", "192.0.2.1"), ("AAAA", "gggg::1"), ("AAAA", "1::2::3"),
    ("MX", "10"), ("MX", "mail.bad.test."), ("MX", "70000 mail.bad.test."),
    ("MX", "-1 mail.bad.test."), ("CNAME", ""), ("CNAME", "a..b."), ("NS", ""),
    ("PTR", "a..b."), ("TXT", '"unterminated'), ("TXT", '"' + "x" * 70000 + '"'),
    # relative names: PowerDNS reads every name in content as absolute and refuses these
    ("CNAME", "www.example.com"), ("CNAME", "@"), ("MX", "10 mail"), ("NS", "ns1.bad.test"),
    ("SRV", "1 2 5060 sip.example.com"), ("PTR", "host"), ("DNAME", "other.test"),
    ("SRV", "1 2 mail.bad.test."), ("SRV", "1 2 70000 mail.bad.test."),
    ("SRV", "a b c d"), ("CAA", "0 issue"), ("CAA", '256 issue "ca.example"'),
    ("CAA", '0 "" "x"'), ("SSHFP", "1 1 zz"), ("SSHFP", "1"), ("TLSA", "3 1 1 xyz"),
    ("TLSA", "3 1"), ("DS", "1 2 3"), ("DS", "1 13 2 nothex"), ("DNSKEY", "257 3 13 !!!!"),
    ("HINFO", '"only-one"'), ("NAPTR", "100 10"), ("LOC", "not a location"),
    ("SOA", "bad"), ("TYPE65534", "\\# 3 abcd"), ("TYPE65534", "\\# 2 zz"),
    ("TYPE65534", "\\# x"), ("SVCB", "1 . alpn"), ("HTTPS", "x . alpn=h2"),
    ("NSEC3PARAM", "1 0 x -"), ("CERT", "x"),
]


def test_invalid_rdata(env):
    before = env.serial()
    for rtype, content in BAD_RDATA:
        r = env.req("PATCH", ZPATH, {"rrsets": [rrset(name=f"r.{ZONE}", rtype=rtype,
                                                      records=[{"content": content}])]})
        env.expect(f"{rtype} {content[:40]!r}", r, status=422,
                   fields=["rrsets[0].records[0].content"])
    env.check()
    assert env.serial() == before


SMUGGLED = [
    ("A", "192.0.2.1\nevil 300 IN A 192.0.2.66"),
    ("A", "192.0.2.1\r\nevil 300 IN A 192.0.2.66"),
    ("TXT", '"x"\nevil 300 IN A 192.0.2.66'),
    ("TXT", '"x"\n$INCLUDE /etc/passwd'),
    ("A", "$INCLUDE /etc/passwd"),
    ("TXT", '"x"\n$ORIGIN evil.'),
    ("TXT", '"x"\n$TTL 1'),
    ("TXT", '"x"\n$GENERATE 1-100 evil$ A 192.0.2.66'),
    ("MX", "10 (\nmail.bad.test. )\nevil A 192.0.2.66"),
    ("A", "192.0.2.1 ; comment\nevil A 192.0.2.66"),
]


def test_content_cannot_smuggle_lines_or_directives(env):
    before = env.serial()
    for rtype, content in SMUGGLED:
        r = env.req("PATCH", ZPATH, {"rrsets": [rrset(name=f"s.{ZONE}", rtype=rtype,
                                                      records=[{"content": content}])]})
        env.expect(f"{rtype} {content!r}", r, status=422)
    for name, rtype in ((f"evil.{ZONE}", "A"), (f"s.{ZONE}", "TXT"), (f"s.{ZONE}", "A"),
                        (f"s.{ZONE}", "MX")):
        ans = env.query(name, rtype)
        if ans.rcode() != dns.rcode.NXDOMAIN:
            env.problems.append(f"{name} {rtype}: expected NXDOMAIN, got "
                                f"{dns.rcode.to_text(ans.rcode())} {ans.answer}")
    # As the whole content of a TXT record, "$INCLUDE /etc/passwd" is two character-strings,
    # stored as they are: no file is read.
    r = env.req("PATCH", ZPATH, {"rrsets": [rrset(name=f"inc.{ZONE}", rtype="TXT",
                                                  records=[{"content": "$INCLUDE /etc/passwd"}])]})
    env.expect("TXT $INCLUDE as text", r, status=422, allow_ok=True)
    if r.status_code == 204:
        ans = env.query(f"inc.{ZONE}", "TXT")
        assert [list(rd.strings) for rd in ans.answer[0]] == [[b"$INCLUDE", b"/etc/passwd"]]
        r = env.req("PATCH", ZPATH, {"rrsets": [{"name": f"inc.{ZONE}", "type": "TXT",
                                                 "changetype": "DELETE"}]})
        assert r.status_code == 204, r.text
        before = env.serial()
    # Zone-file text may not include other files either.
    r = env.req("POST", ZONES, {"name": "inc.test.", "kind": "Native",
                                "zone": "$ORIGIN inc.test.\n$TTL 300\n"
                                        "@ SOA ns1 hm 1 3600 600 86400 300\n@ NS ns1\n"
                                        "$INCLUDE /etc/passwd\n"})
    env.expect("zone text with $INCLUDE", r, status=422)
    r = env.req("PUT", ZPATH, {"zone": f"$ORIGIN {ZONE}\n$TTL 300\n"
                                       "@ SOA ns1 hm 99 3600 600 86400 300\n@ NS ns1\n"
                                       "$INCLUDE /etc/hostname\n"})
    env.expect("zone put with $INCLUDE", r, status=422)
    env.check()
    assert env.serial() == before


def test_body_too_large(env):
    before = env.serial()
    pad = "x" * (2 * 1024 * 1024)
    body = json.dumps({"rrsets": [rrset(name=f"big.{ZONE}", rtype="TXT",
                                        records=[{"content": f'"{pad}"'}])]}).encode()
    for method, path in BODY_ROUTES:
        env.expect(f"2 MB body {method} {path}", env.raw(method, path, body), status=413)
    env.check()
    assert env.serial() == before


def test_five_thousand_rrsets(env):
    before = env.serial()
    many = [rrset(name=f"m{i}.{ZONE}", rtype="TXT", ttl=60,
                  records=[{"content": f'"v{i}"', "disabled": False}]) for i in range(5000)]
    r = env.req("PATCH", ZPATH, {"rrsets": many})
    env.expect("5000 RRsets", r, allow_ok=True)
    env.check()
    if r.status_code == 204:
        assert env.serial() == before + 1
        ans = env.query(f"m4999.{ZONE}", "TXT")
        assert ans.answer and ans.answer[0][0].strings == (b"v4999",)
        got = env.s.get(env.base + ZPATH, params={"rrset_name": f"m1234.{ZONE}"}, timeout=60)
        assert got.status_code == 200 and len(got.json()["rrsets"]) == 1
        gone = [{"name": f"m{i}.{ZONE}", "type": "TXT", "changetype": "DELETE"}
                for i in range(5000)]
        r = env.req("PATCH", ZPATH, {"rrsets": gone})
        assert r.status_code == 204, r.text
        assert env.query(f"m4999.{ZONE}", "TXT").rcode() == dns.rcode.NXDOMAIN
    else:
        assert env.serial() == before
    # The same 5000 with one bad record at the end: nothing of it applied.
    many[-1]["records"][0]["content"] = '"unterminated'
    before = env.serial()
    r = env.req("PATCH", ZPATH, {"rrsets": many})
    env.expect("5000 RRsets, the last bad", r, status=422,
               fields=["rrsets[4999].records[0].content"])
    env.check()
    assert env.serial() == before
    assert env.query(f"m0.{ZONE}", "TXT").rcode() == dns.rcode.NXDOMAIN


def test_still_serving_after_the_corpus(env):
    r = env.req("PATCH", ZPATH, {"rrsets": [rrset(name=f"after.{ZONE}")]})
    assert r.status_code == 204, r.text
    assert env.query(f"after.{ZONE}", "A").answer[0][0].address == "192.0.2.1"


def test_nul_in_the_path_is_not_cut_short(env):
    # "%00" must not end the name: "default%00x" is not the policy "default", nor a zone.
    get = env.s.get
    r = get(env.base + "/api/v1/servers/localhost/policies/default%00x", timeout=30)
    assert r.status_code == 404, r.text
    r = get(env.base + ZONES + "/bad.test.%00evil", timeout=30)
    assert r.status_code in (404, 422), r.text
    r = get(env.base + "/api/v1/servers/localhost/policies/defaul%74", timeout=30)
    assert r.status_code == 200, r.text
