"""Zone metadata and TSIG keys through the PowerDNS-compatible API: every route, valid and
invalid input (status and the field named), secrets never listed, generated keys of the right
length, SOA-EDIT-API as the zone's serial policy, and scoped tokens that may not change them."""
import base64
import time

import pytest
import requests

import servelib

KEY = "meta-admin-key"
Z = "/api/v1/servers/localhost/zones"
META = Z + "/meta.test./metadata"
TSIG = "/api/v1/servers/localhost/tsigkeys"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("meta")
    with servelib.ApiServer(work, KEY) as srv:
        base = srv.base
        s = requests.Session()
        s.headers["X-API-Key"] = KEY
        r = s.post(base + Z, json={"name": "meta.test.", "kind": "Native",
                                   "nameservers": ["ns.example.net."]}, timeout=30)
        assert r.status_code == 201, r.text
        yield base, s


def call(env, method, path, **kw):
    base, s = env
    return s.request(method, base + path, timeout=30, **kw)


def err(r, status, *words):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"]
    for w in words:
        assert w in body["error"], body


def test_metadata_set_add_get_delete(env):
    r = call(env, "PUT", META + "/ALLOW-AXFR-FROM",
             json={"metadata": ["192.0.2.0/24", "2001:db8::/32"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"type": "Metadata", "kind": "ALLOW-AXFR-FROM",
                        "metadata": ["192.0.2.0/24", "2001:db8::/32"]}
    r = call(env, "POST", META, json={"kind": "ALLOW-AXFR-FROM",
                                      "metadata": ["192.0.2.0/24", "198.51.100.7"]})
    assert r.status_code == 201, r.text
    assert r.json()["metadata"] == ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
    r = call(env, "POST", META, json={"kind": "also-notify",
                                      "metadata": ["192.0.2.1", "[2001:db8::1]:5300"]})
    assert r.status_code == 201 and r.json()["kind"] == "ALSO-NOTIFY", r.text
    assert call(env, "PUT", META + "/X-FOO", json={"metadata": ["any text"]}).status_code == 200
    assert call(env, "PUT", META + "/PUBLISH-CDS", json={"metadata": ["2,4"]}).status_code == 200
    assert call(env, "PUT", META + "/PUBLISH-CDNSKEY",
                json={"metadata": ["1"]}).status_code == 200
    kinds = {m["kind"]: m["metadata"] for m in call(env, "GET", META).json()}
    assert kinds["ALSO-NOTIFY"] == ["192.0.2.1", "[2001:db8::1]:5300"]
    assert kinds["X-FOO"] == ["any text"] and kinds["PUBLISH-CDS"] == ["2,4"]
    assert kinds["SOA-EDIT-API"] == ["INCREASE"]
    assert call(env, "GET", META + "/X-FOO").json()["metadata"] == ["any text"]
    assert call(env, "GET", META + "/X-UNSET").json()["metadata"] == []
    assert call(env, "DELETE", META + "/X-FOO").status_code == 204
    assert call(env, "GET", META + "/X-FOO").json()["metadata"] == []
    audit = call(env, "GET", "/api/v1/audit?zone=meta.test.").json()
    assert {"metadata.add", "metadata.set", "metadata.delete"} <= {a["action"] for a in audit}


@pytest.mark.parametrize("kind,values,words", [
    ("ALLOW-AXFR-FROM", ["192.0.2.0/33"], ["metadata[0]", "prefix"]),
    ("ALLOW-AXFR-FROM", ["example.com"], ["metadata[0]"]),
    ("ALSO-NOTIFY", ["192.0.2.1:99999"], ["metadata[0]"]),
    ("ALSO-NOTIFY", ["192.0.2.1", 5], ["metadata[1]", "string"]),
    ("TSIG-ALLOW-AXFR", ["nosuchkey."], ["metadata[0]", "TSIG key"]),
    ("PUBLISH-CDS", ["1"], ["SHA-1"]),
    ("PUBLISH-CDS", ["2,2"], ["twice"]),
    ("PUBLISH-CDNSKEY", ["yes"], ["metadata[0]"]),
    ("SOA-EDIT-API", ["SOMETIMES"], ["metadata[0]"]),
    ("SOA-EDIT-API", ["EPOCH", "OFF"], ["exactly one"]),
])
def test_metadata_bad_values(env, kind, values, words):
    err(call(env, "PUT", META + "/" + kind, json={"metadata": values}), 422, *words)


def test_metadata_bad_kinds_and_bodies(env):
    err(call(env, "PUT", META + "/FOO-BAR", json={"metadata": ["1"]}), 422, "FOO-BAR")
    err(call(env, "GET", META + "/FOO-BAR"), 422, "FOO-BAR")
    for k in ("NSEC3PARAM", "PRESIGNED", "LUA-AXFR-SCRIPT", "API-RECTIFY"):
        err(call(env, "PUT", META + "/" + k, json={"metadata": ["1"]}), 422, k, "cannot")
        err(call(env, "DELETE", META + "/" + k), 422, k)
    assert call(env, "GET", META + "/NSEC3PARAM").status_code == 200
    err(call(env, "POST", META, json={"metadata": ["x"]}), 422, "kind")
    err(call(env, "POST", META, json={"kind": "X-A", "metadata": "x"}), 422, "metadata")
    err(call(env, "PUT", META + "/X-A", json={"kind": "X-B", "metadata": []}), 422, "kind")
    assert call(env, "PUT", META + "/X-A", data=b"{nope").status_code == 400
    err(call(env, "PUT", META + "/X-%FF%FE", json={"metadata": []}), 422, "kind")
    err(call(env, "PUT", META + "/X-" + "A" * 300, json={"metadata": []}), 422, "kind")
    assert call(env, "GET", Z + "/nozone.test./metadata").status_code == 404


def test_soa_edit_api_is_the_serial_policy(env):
    r = call(env, "PUT", META + "/SOA-EDIT-API", json={"metadata": ["EPOCH"]})
    assert r.status_code == 200 and r.json()["metadata"] == ["EPOCH"], r.text
    assert call(env, "GET", Z + "/meta.test.").json()["soa_edit_api"] == "EPOCH"
    r = call(env, "PATCH", Z + "/meta.test.", json={"rrsets": [
        {"name": "a.meta.test.", "type": "A", "ttl": 60, "changetype": "REPLACE",
         "records": [{"content": "192.0.2.9"}]}]})
    assert r.status_code == 204, r.text
    assert abs(int(r.headers["X-PDNS-New-Serial"]) - time.time()) < 600
    assert call(env, "PUT", META + "/SOA-EDIT-API", json={"metadata": ["OFF"]}).status_code == 200
    r = call(env, "PATCH", Z + "/meta.test.", json={"rrsets": [
        {"name": "a.meta.test.", "type": "A", "ttl": 60, "changetype": "REPLACE",
         "records": [{"content": "192.0.2.10"}]}]})
    assert r.status_code == 204, r.text
    assert call(env, "GET", Z + "/meta.test.").json()["soa_edit_api"] == "OFF"
    # OFF: the change pipeline still moves the serial by one so secondaries see the change.
    assert int(r.headers["X-PDNS-New-Serial"]) - int(r.headers["X-PDNS-Old-Serial"]) <= 1
    assert call(env, "DELETE", META + "/SOA-EDIT-API").status_code == 204
    assert call(env, "GET", META + "/SOA-EDIT-API").json()["metadata"] == ["INCREASE"]


def test_tsig_keys(env):
    r = call(env, "POST", TSIG, json={"name": "xfr-key"})
    assert r.status_code == 201, r.text
    k = r.json()
    assert k["id"] == "xfr-key." and k["name"] == "xfr-key" and k["algorithm"] == "hmac-sha256"
    assert len(base64.b64decode(k["key"], validate=True)) == 32
    r = call(env, "POST", TSIG, json={"name": "big.", "algorithm": "hmac-sha512"})
    assert len(base64.b64decode(r.json()["key"])) == 64
    secret = base64.b64encode(b"s" * 24).decode()
    r = call(env, "POST", TSIG, json={"name": "given", "algorithm": "HMAC-SHA384",
                                      "key": secret})
    assert r.status_code == 201 and r.json()["key"] == secret, r.text
    listed = call(env, "GET", TSIG)
    assert listed.status_code == 200
    assert "key" not in listed.text.replace('"type"', "") or all("key" not in o
                                                                 for o in listed.json())
    assert k["key"] not in listed.text and secret not in listed.text
    assert {o["id"] for o in listed.json()} >= {"xfr-key.", "big.", "given."}
    assert call(env, "GET", TSIG + "/given.").json()["key"] == secret
    r = call(env, "PUT", TSIG + "/given.", json={"algorithm": "hmac-sha256"})
    assert r.status_code == 200 and r.json()["algorithm"] == "hmac-sha256"
    assert r.json()["key"] == secret
    err(call(env, "PUT", TSIG + "/given.", json={"name": "other"}), 422, "name", "renaming")
    err(call(env, "POST", TSIG, json={"name": "given."}), 409)
    # in use by a zone: refused until the metadata goes
    assert call(env, "PUT", META + "/TSIG-ALLOW-AXFR",
                json={"metadata": ["xfr-key"]}).status_code == 200
    err(call(env, "DELETE", TSIG + "/xfr-key."), 409, "meta.test.")
    assert call(env, "DELETE", META + "/TSIG-ALLOW-AXFR").status_code == 204
    assert call(env, "DELETE", TSIG + "/xfr-key.").status_code == 204
    assert call(env, "GET", TSIG + "/xfr-key.").status_code == 404
    assert call(env, "DELETE", TSIG + "/xfr-key.").status_code == 404
    actions = {a["action"] for a in call(env, "GET", "/api/v1/audit").json()}
    assert {"tsigkey.create", "tsigkey.update", "tsigkey.delete"} <= actions
    assert k["key"] not in call(env, "GET", "/api/v1/audit").text


@pytest.mark.parametrize("body,status,words", [
    ({"name": "m", "algorithm": "hmac-md5"}, 422, ["algorithm", "MD5"]),
    ({"name": "m", "algorithm": "hmac-sha224"}, 422, ["algorithm"]),
    ({"name": "m", "algorithm": 5}, 422, ["algorithm"]),
    ({"name": "m", "key": "not base64!"}, 422, ["key", "base64"]),
    ({"name": "m", "key": base64.b64encode(b"short").decode()}, 422, ["key", "short"]),
    ({"name": "m", "key": base64.b64encode(b"x" * 600).decode()}, 422, ["key"]),
    ({"name": "m", "key": 12}, 422, ["key"]),
    ({"algorithm": "hmac-sha256"}, 422, ["name"]),
    ({"name": "."}, 422, ["name"]),
    ({"name": "a..b"}, 422, ["name"]),
    ({"name": ["x"]}, 422, ["name"]),
])
def test_tsig_bad_input(env, body, status, words):
    err(call(env, "POST", TSIG, json=body), status, *words)


def test_tsig_sha1_is_accepted_with_a_warning(env):
    """Old secondaries may know only HMAC-SHA1 (RFC 8945 section 6: not recommended)."""
    r = call(env, "POST", TSIG, json={"name": "old-key", "algorithm": "hmac-sha1"})
    assert r.status_code == 201, r.text
    k = r.json()
    assert k["algorithm"] == "hmac-sha1" and "SHA1" in k["warning"]
    assert len(base64.b64decode(k["key"])) == 20
    assert "SHA1" in call(env, "GET", TSIG + "/old-key.").json()["warning"]
    assert "warning" not in call(env, "POST", TSIG, json={"name": "new-key"}).json()


def test_scoped_tokens(env):
    base, _ = env
    call(env, "POST", TSIG, json={"name": "scoped-key"})
    for perm in ("read", "update"):
        t = call(env, "POST", "/api/v1/tokens", json={"name": perm, "permission": perm}).json()
        s = requests.Session()
        s.headers["X-API-Key"] = t["token"]
        r = s.get(base + TSIG, timeout=10)
        assert r.status_code == 200 and all("key" not in o for o in r.json())
        r = s.get(base + TSIG + "/scoped-key.", timeout=10)
        assert r.status_code == 200 and "key" not in r.json()
        assert s.post(base + TSIG, json={"name": "x"}, timeout=10).status_code == 403
        assert s.put(base + TSIG + "/scoped-key.", json={}, timeout=10).status_code == 403
        assert s.delete(base + TSIG + "/scoped-key.", timeout=10).status_code == 403
        assert s.get(base + META, timeout=10).status_code == 200
        w = s.put(base + META + "/X-T", json={"metadata": ["1"]}, timeout=10)
        assert w.status_code == (403 if perm == "read" else 200), w.text
