"""Scoped tokens: the permission matrix (read vs update, zone-limited, revoked), secrets shown
once and stored only as hashes, and the audit log naming the token of each change."""
import sqlite3

import pytest
import requests

import servelib

KEY = "tokens-admin-key"
ZONES = "/api/v1/servers/localhost/zones"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("tokens")
    with servelib.ApiServer(work, KEY) as srv:
        base = srv.base
        admin = requests.Session()
        admin.headers["X-API-Key"] = KEY
        for z in ("one.test.", "two.test."):
            r = admin.post(base + ZONES, json={"name": z, "kind": "Native",
                                               "nameservers": ["ns.example.net."]}, timeout=30)
            assert r.status_code == 201, r.text
        yield base, admin, work / "data"


def token(env, name, perm, zones=None):
    base, admin, _ = env
    body = {"name": name, "permission": perm}
    if zones is not None:
        body["zones"] = zones
    r = admin.post(base + "/api/v1/tokens", json=body, timeout=10)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["token"].startswith("ens_") and t["permission"] == perm
    return t


def as_token(secret, bearer=False):
    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {secret}"} if bearer else {"X-API-Key": secret})
    return s


def rr_patch(name):
    return {"rrsets": [{"name": name, "type": "TXT", "ttl": 60, "changetype": "REPLACE",
                        "records": [{"content": '"x"'}]}]}


def test_read_token_reads_but_never_writes(env):
    base, _, _ = env
    s = as_token(token(env, "reader", "read")["token"])
    assert s.get(base + ZONES, timeout=10).status_code == 200
    assert s.get(base + ZONES + "/one.test.", timeout=10).status_code == 200
    r = s.patch(base + ZONES + "/one.test.", json=rr_patch("a.one.test."), timeout=10)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert s.post(base + ZONES, json={"name": "x.test.", "kind": "Native",
                                      "nameservers": ["ns.example.net."]},
                  timeout=10).status_code == 403
    assert s.get(base + "/api/v1/tokens", timeout=10).status_code == 403


def test_update_token_limited_to_a_zone(env):
    base, _, _ = env
    s = as_token(token(env, "one-writer", "update", ["one.test"])["token"], bearer=True)
    assert s.patch(base + ZONES + "/one.test.", json=rr_patch("a.one.test."),
                   timeout=10).status_code == 204
    assert s.patch(base + ZONES + "/two.test.", json=rr_patch("a.two.test."),
                   timeout=10).status_code == 403
    assert s.get(base + ZONES + "/two.test.", timeout=10).status_code == 403
    assert [z["name"] for z in s.get(base + ZONES, timeout=10).json()] == ["one.test."]
    assert s.delete(base + ZONES + "/two.test.", timeout=10).status_code == 403


def test_revoked_token_is_refused_and_audit_names_it(env):
    base, admin, _ = env
    t = token(env, "short-lived", "update")
    s = as_token(t["token"])
    assert s.patch(base + ZONES + "/two.test.", json=rr_patch("b.two.test."),
                   timeout=10).status_code == 204
    assert admin.delete(base + f"/api/v1/tokens/{t['id']}", timeout=10).status_code == 204
    r = s.get(base + ZONES, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    listed = {x["id"]: x for x in admin.get(base + "/api/v1/tokens", timeout=10).json()}
    assert listed[t["id"]]["revoked"] is not None
    assert all("token" not in x and "hash" not in x for x in listed.values())
    audit = admin.get(base + "/api/v1/audit?zone=two.test.", timeout=10).json()
    assert any(a["action"] == "zone.patch" and a["token_id"] == t["id"] for a in audit)
    assert admin.delete(base + "/api/v1/tokens/999999", timeout=10).status_code == 404


def test_secrets_are_stored_only_as_hashes(env):
    _, _, data = env
    t = token(env, "hashed", "read")
    db = sqlite3.connect(f"file:{data}/ensign.db?mode=ro", uri=True)
    try:
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    assert t["token"] not in dump
    assert t["token"][4:] not in dump


def test_bad_token_requests(env):
    base, admin, _ = env
    for body in ({"permission": "read"}, {"name": "x", "permission": "admin"},
                 {"name": "x", "permission": "read", "zones": "one.test."},
                 {"name": "x", "permission": "read", "zones": ["not a name.."]}):
        r = admin.post(base + "/api/v1/tokens", json=body, timeout=10)
        assert r.status_code == 422, (body, r.text)
