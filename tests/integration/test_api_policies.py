"""Key and signing policies over the API (/api/v1/servers/localhost/policies) and the
`ensign policy` commands: create with defaults, list, get, partial PUT, delete; every bad field
refused with a 422 naming it (wrong JSON types, unknown fields, out-of-range values and what
the key manager's policy check refuses); deletion refused while a zone uses the policy; read
tokens may read but only the administrator key may change policies."""
import json
import re
import os
import subprocess

import pytest
import requests

import servelib

KEY = "policies-admin-key"
POLICIES = "/api/v1/servers/localhost/policies"
ZONES = "/api/v1/servers/localhost/zones"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("policies")
    with servelib.ApiServer(work, KEY, extra=("--api-rate", "100000")) as srv:
        admin = requests.Session()
        admin.headers["X-API-Key"] = KEY
        yield srv.base, admin


def create(env, body, status=201):
    base, admin = env
    r = admin.post(base + POLICIES, json=body, timeout=10)
    assert r.status_code == status, r.text
    return r.json()


def refused_field(r, field, status=422):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["field"] == field, body
    assert body["code"] == "invalid-field", body
    assert body["error"].startswith(field + ":"), body
    assert [e["field"] for e in body["errors"]] == [field], body
    return body


def test_default_policy_is_listed_with_every_field(env):
    base, admin = env
    r = admin.get(base + POLICIES, timeout=10)
    assert r.status_code == 200, r.text
    d = {p["name"]: p for p in r.json()}["default"]
    assert d["algorithm"] == "ECDSAP256SHA256" and d["bits"] == 0 and d["scheme"] == "csk"
    assert d["zskLifetime"] == 90 * 86400 and d["kskLifetime"] == 0 and d["cskLifetime"] == 0
    assert d["publishSafety"] == 3600 and d["retireSafety"] == 3600
    assert d["nsec3"] == {"enabled": True, "iterations": 0, "salt": "", "optOut": False}
    for f in ("dnskeyTtl", "zoneMaxTtl", "propagationDelay", "parentDsTtl",
              "parentPropagationDelay", "signatureValidity", "signatureRefresh"):
        assert isinstance(d[f], int), f


def test_create_takes_defaults_for_fields_left_out(env):
    base, admin = env
    p = create(env, {"name": "short", "algorithm": "ed25519"})
    assert p["name"] == "short" and p["algorithm"] == "ED25519" and p["bits"] == 0
    default = admin.get(base + POLICIES + "/default", timeout=10).json()
    for k in ("scheme", "zskLifetime", "dnskeyTtl", "signatureValidity", "nsec3",
              "publishSafety", "retireSafety"):
        assert p[k] == default[k], k
    assert isinstance(p["created"], int) and p["created"] == p["updated"]
    got = admin.get(base + POLICIES + "/short", timeout=10)
    assert got.status_code == 200 and got.json() == p
    assert "short" in [x["name"] for x in admin.get(base + POLICIES, timeout=10).json()]


def test_create_every_field_and_algorithm_spellings(env):
    body = {"name": "full.policy_1", "algorithm": "rsa-3072", "scheme": "ksk-zsk",
            "kskLifetime": 365 * 86400, "zskLifetime": 30 * 86400, "cskLifetime": 0,
            "dnskeyTtl": 600, "zoneMaxTtl": 3600, "propagationDelay": 60, "parentDsTtl": 3600,
            "parentPropagationDelay": 7200, "signatureValidity": 10 * 86400,
            "signatureRefresh": 3 * 86400, "publishSafety": 120, "retireSafety": 240,
            "nsec3": {"enabled": True, "iterations": 1, "salt": "AB01", "optOut": True}}
    p = create(env, body)
    assert p["algorithm"] == "RSASHA256" and p["bits"] == 3072
    for k, v in body.items():
        if k not in ("algorithm", "nsec3"):
            assert p[k] == v, k
    assert p["nsec3"] == {"enabled": True, "iterations": 1, "salt": "AB01", "optOut": True}
    assert create(env, {"name": "by-number", "algorithm": 14})["algorithm"] == "ECDSAP384SHA384"
    rsa = create(env, {"name": "bare-rsa", "algorithm": "RSASHA512"})
    assert rsa["algorithm"] == "RSASHA512" and rsa["bits"] == 2048
    assert create(env, {"name": "rsa-bits", "algorithm": 8, "bits": 4096})["bits"] == 4096


def test_put_changes_only_the_fields_given(env):
    base, admin = env
    before = create(env, {"name": "editable", "zskLifetime": 60 * 86400})
    r = admin.put(base + POLICIES + "/editable",
                  json={"zskLifetime": 45 * 86400, "nsec3": {"iterations": 0, "enabled": False}},
                  timeout=10)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["zskLifetime"] == 45 * 86400 and after["nsec3"]["enabled"] is False
    assert after["created"] == before["created"]
    for k in ("algorithm", "scheme", "dnskeyTtl", "kskLifetime", "publishSafety"):
        assert after[k] == before[k], k
    assert admin.get(base + POLICIES + "/editable", timeout=10).json() == after
    # A GET answer sent back unchanged is accepted (created/updated are read-only).
    r = admin.put(base + POLICIES + "/editable", json=after, timeout=10)
    assert r.status_code == 200, r.text
    # Moving away from RSA drops the size; onto RSA gives 2048.
    r = admin.put(base + POLICIES + "/editable", json={"algorithm": "rsa-4096"}, timeout=10)
    assert r.json()["bits"] == 4096
    r = admin.put(base + POLICIES + "/editable", json={"algorithm": "ecdsa-p256"}, timeout=10)
    assert r.json()["bits"] == 0 and r.json()["algorithm"] == "ECDSAP256SHA256"


def test_put_refuses_renaming_and_unknown_policies(env):
    base, admin = env
    create(env, {"name": "fixed-name"})
    r = admin.put(base + POLICIES + "/fixed-name", json={"name": "other"}, timeout=10)
    refused_field(r, "name")
    assert admin.put(base + POLICIES + "/nope", json={}, timeout=10).status_code == 404
    assert admin.get(base + POLICIES + "/nope", timeout=10).status_code == 404
    assert admin.get(base + POLICIES + "/bad%20name", timeout=10).status_code == 404
    assert admin.delete(base + POLICIES + "/nope", timeout=10).status_code == 404


BAD_FIELDS = [
    ({"name": 5}, "name"),
    ({"name": ""}, "name"),
    ({"name": "has space"}, "name"),
    ({"name": "x" * 64}, "name"),
    ({"name": "ok", "algorithm": "RSAMD5"}, "algorithm"),
    ({"name": "ok", "algorithm": "rsa-1024"}, "algorithm"),
    ({"name": "ok", "algorithm": "nope"}, "algorithm"),
    ({"name": "ok", "algorithm": True}, "algorithm"),
    ({"name": "ok", "algorithm": 3}, "algorithm"),
    ({"name": "ok", "algorithm": "x" * 5000}, "algorithm"),
    ({"name": "ok", "bits": 1024, "algorithm": "rsa-2048"}, "bits"),
    ({"name": "ok", "bits": 2048}, "bits"),
    ({"name": "ok", "bits": "2048"}, "bits"),
    ({"name": "ok", "scheme": "double"}, "scheme"),
    ({"name": "ok", "scheme": None}, "scheme"),
    ({"name": "ok", "zskLifetime": "90d"}, "zskLifetime"),
    ({"name": "ok", "zskLifetime": 1.5}, "zskLifetime"),
    ({"name": "ok", "zskLifetime": -1}, "zskLifetime"),
    ({"name": "ok", "zskLifetime": 2 ** 62}, "zskLifetime"),
    ({"name": "ok", "zskLifetime": 3600}, "zskLifetime"),
    ({"name": "ok", "kskLifetime": 86400}, "kskLifetime"),
    ({"name": "ok", "cskLifetime": 86400}, "cskLifetime"),
    ({"name": "ok", "dnskeyTtl": 0}, "dnskeyTtl"),
    ({"name": "ok", "dnskeyTtl": 2 ** 31}, "dnskeyTtl"),
    ({"name": "ok", "zoneMaxTtl": None}, "zoneMaxTtl"),
    ({"name": "ok", "propagationDelay": -5}, "propagationDelay"),
    ({"name": "ok", "parentDsTtl": False}, "parentDsTtl"),
    ({"name": "ok", "parentPropagationDelay": []}, "parentPropagationDelay"),
    ({"name": "ok", "signatureRefresh": 1209600}, "signatureRefresh"),
    ({"name": "ok", "signatureValidity": 0}, "signatureValidity"),
    ({"name": "ok", "signatureValidity": 700000, "zoneMaxTtl": 200000}, "signatureValidity"),
    ({"name": "ok", "publishSafety": -1}, "publishSafety"),
    ({"name": "ok", "retireSafety": "1h"}, "retireSafety"),
    ({"name": "ok", "nsec3": True}, "nsec3"),
    ({"name": "ok", "nsec3": {"enabled": "yes"}}, "nsec3.enabled"),
    ({"name": "ok", "nsec3": {"iterations": 501}}, "nsec3.iterations"),
    ({"name": "ok", "nsec3": {"iterations": -1}}, "nsec3.iterations"),
    ({"name": "ok", "nsec3": {"salt": "xyz"}}, "nsec3.salt"),
    ({"name": "ok", "nsec3": {"salt": "abc"}}, "nsec3.salt"),
    ({"name": "ok", "nsec3": {"salt": "ab" * 256}}, "nsec3.salt"),
    ({"name": "ok", "nsec3": {"salt": 12}}, "nsec3.salt"),
    ({"name": "ok", "nsec3": {"optOut": 1}}, "nsec3.optOut"),
    ({"name": "ok", "nsec3": {"hash": 1}}, "nsec3.hash"),
    ({"name": "ok", "frobnicate": 1}, "frobnicate"),
    ({"name": "ok", "zsk_lifetime": 1}, "zsk_lifetime"),
]


@pytest.mark.parametrize("body,field", BAD_FIELDS, ids=[f for _, f in BAD_FIELDS])
def test_bad_fields_are_refused_naming_the_field(env, body, field):
    base, admin = env
    refused_field(admin.post(base + POLICIES, json=body, timeout=10), field)
    assert admin.get(base + POLICIES + "/ok", timeout=10).status_code == 404
    if "name" in body and body["name"] == "ok" and field != "name":
        # the same field is refused by a PUT of an existing policy, which stays unchanged
        if admin.get(base + POLICIES + "/target", timeout=10).status_code == 404:
            create(env, {"name": "target"})
        before = admin.get(base + POLICIES + "/target", timeout=10).json()
        put = {k: v for k, v in body.items() if k != "name"}
        refused_field(admin.put(base + POLICIES + "/target", json=put, timeout=10), field)
        assert admin.get(base + POLICIES + "/target", timeout=10).json() == before


def test_malformed_bodies_are_4xx(env):
    base, admin = env
    for data in (b"{", b"[]", b"\"x\"", b""):
        r = admin.post(base + POLICIES, data=data, timeout=10,
                       headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (data, r.text)


def test_duplicate_name_is_a_conflict(env):
    create(env, {"name": "twice"})
    r = env[1].post(env[0] + POLICIES, json={"name": "twice"}, timeout=10)
    assert r.status_code == 409, r.text


def test_delete_refused_while_a_zone_uses_the_policy(env):
    base, admin = env
    create(env, {"name": "in-use"})
    r = admin.post(base + ZONES, json={"name": "pol.test.", "kind": "Native",
                                       "nameservers": ["ns.example.net."]}, timeout=30)
    assert r.status_code == 201, r.text
    r = admin.put(base + ZONES + "/pol.test./dnssec", json={"enabled": True, "policy": "in-use"},
                  timeout=60)
    assert r.status_code == 200, r.text
    r = admin.delete(base + POLICIES + "/in-use", timeout=10)
    assert r.status_code == 409 and r.json()["code"] == "in-use", r.text
    assert admin.get(base + POLICIES + "/in-use", timeout=10).status_code == 200
    # a signed zone whose parent ensign cannot see is not deleted without force
    assert admin.delete(base + ZONES + "/pol.test.", timeout=30).status_code == 409
    assert admin.delete(base + ZONES + "/pol.test.", params={"force": "true"},
                        timeout=30).status_code == 204
    assert admin.delete(base + POLICIES + "/in-use", timeout=10).status_code == 204
    assert admin.get(base + POLICIES + "/in-use", timeout=10).status_code == 404
    r = admin.delete(base + POLICIES + "/default", timeout=10)
    assert r.status_code == 409, r.text


def test_read_token_lists_but_only_admin_changes(env):
    base, admin = env
    create(env, {"name": "guarded"})
    tokens = {}
    for perm in ("read", "update"):
        r = admin.post(base + "/api/v1/tokens", json={"name": "pol-" + perm, "permission": perm},
                       timeout=10)
        assert r.status_code == 201, r.text
        s = requests.Session()
        s.headers["X-API-Key"] = r.json()["token"]
        tokens[perm] = s
    for s in tokens.values():
        assert s.get(base + POLICIES, timeout=10).status_code == 200
        assert s.get(base + POLICIES + "/guarded", timeout=10).status_code == 200
        assert s.post(base + POLICIES, json={"name": "sneaky"}, timeout=10).status_code == 403
        assert s.put(base + POLICIES + "/guarded", json={"dnskeyTtl": 60},
                     timeout=10).status_code == 403
        assert s.delete(base + POLICIES + "/guarded", timeout=10).status_code == 403
    assert admin.get(base + POLICIES + "/sneaky", timeout=10).status_code == 404
    assert admin.get(base + POLICIES + "/guarded", timeout=10).json()["dnskeyTtl"] == 3600
    assert requests.get(base + POLICIES, timeout=10).status_code == 401
    audit = admin.get(base + "/api/v1/audit", timeout=10).json()
    assert any(a["action"] == "policy.create" and "guarded" in (a["detail"] or "")
               for a in audit)


def ensign(url, *args, check=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENSIGN_") or k == "ENSIGN_BIN"}
    env.update({"HOME": "/nonexistent", "ENSIGN_URL": url, "ENSIGN_TOKEN": KEY})
    env.pop("XDG_CONFIG_HOME", None)
    p = subprocess.run([servelib.ENSIGN, *args], capture_output=True, text=True, env=env,
                       timeout=60)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def test_cli_policy_commands(env):
    base, admin = env
    p = ensign(base, "policy", "create", "cli-pol", "--algorithm", "ecdsa-p384", "--scheme",
               "ksk-zsk", "--zsk-lifetime", "60d", "--ksk-lifetime", "365d", "--nsec3-salt",
               "beef", "--opt-out", "on", "--json", check=0)
    made = json.loads(p.stdout)
    assert made["algorithm"] == "ECDSAP384SHA384" and made["scheme"] == "ksk-zsk"
    assert made["zskLifetime"] == 60 * 86400 and made["nsec3"]["salt"] == "beef"
    assert made["nsec3"]["optOut"] is True
    ensign(base, "policy", "set", "cli-pol", "--dnskey-ttl", "2h", check=0)
    assert admin.get(base + POLICIES + "/cli-pol", timeout=10).json()["dnskeyTtl"] == 7200
    show = ensign(base, "policy", "show", "cli-pol", check=0).stdout
    # durations as a person reads them (the API keeps seconds)
    assert re.search(r"^dnskeyTtl:\s+2h$", show, re.M) and "nsec3.salt:" in show, show
    assert re.search(r"^zskLifetime:\s+60d$", show, re.M), show
    lst = ensign(base, "policy", "list", check=0).stdout
    assert "cli-pol" in lst and "default" in lst
    bad = ensign(base, "policy", "set", "cli-pol", "--zsk-lifetime", "60", check=1)
    assert "zskLifetime" in bad.stderr
    ensign(base, "policy", "set", "cli-pol", "--zsk-lifetime", "soon", check=2)
    ensign(base, "policy", "set", "cli-pol", "--bogus", "1", check=2)
    ensign(base, "policy", "show", "missing", check=3)
    ensign(base, "policy", "create", "cli-pol", check=4)
    ensign(base, "policy", "delete", "cli-pol", check=0)
    ensign(base, "policy", "show", "cli-pol", check=3)
