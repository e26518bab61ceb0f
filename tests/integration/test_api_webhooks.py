"""Webhooks over the API (/api/v1/servers/localhost/webhooks) and the `ensign webhook` commands:
create, list, get, delete; the secret is write-only (never in any answer, nor in the audit
log); bad URLs, events, zones and unknown fields are refused naming the field; only the
administrator key may see or touch webhooks."""
import json
import os
import sqlite3
import subprocess

import pytest
import requests

import servelib

KEY = "webhooks-admin-key"
HOOKS = "/api/v1/servers/localhost/webhooks"
SECRET = "very-secret-hmac-key-0123456789"
DATA = []  # the database of the module's server
ALL_EVENTS = ["dnssec.rotation_start", "dnssec.rotation_complete", "dnssec.ds_seen",
              "dnssec.sign_failed"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("webhooks")
    with servelib.ApiServer(work, KEY, extra=("--api-rate", "100000")) as srv:
        admin = requests.Session()
        admin.headers["X-API-Key"] = KEY
        DATA.append(work / "data" / "ensign.db")
        yield srv.base, admin


def add(env, body, status=201):
    base, admin = env
    r = admin.post(base + HOOKS, json=body, timeout=10)
    assert r.status_code == status, r.text
    assert SECRET not in r.text
    return r.json()


def test_create_list_get_delete(env):
    base, admin = env
    a = add(env, {"url": "https://hooks.example/ensign", "secret": SECRET})
    assert a["url"] == "https://hooks.example/ensign"
    assert a["events"] is None and a["zone"] is None and a["secret"] == "set"
    assert isinstance(a["id"], int) and isinstance(a["created"], int)
    b = add(env, {"url": "http://127.0.0.1:9/hook?x=1", "secret": SECRET,
                  "events": ["dnssec.ds_seen", "dnssec.sign_failed", "dnssec.ds_seen"],
                  "zone": "Example.COM"})
    assert b["events"] == ["dnssec.ds_seen", "dnssec.sign_failed"]
    assert b["zone"] == "example.com." and b["id"] > a["id"]
    c = add(env, {"url": "https://x.example/", "secret": SECRET, "events": ALL_EVENTS,
                  "zone": None})
    assert c["events"] == ALL_EVENTS and c["zone"] is None

    r = admin.get(base + HOOKS, timeout=10)
    assert r.status_code == 200 and SECRET not in r.text
    ids = [w["id"] for w in r.json()]
    assert ids == sorted(ids) and {a["id"], b["id"], c["id"]} <= set(ids)
    got = admin.get(base + HOOKS + f"/{b['id']}", timeout=10)
    assert got.status_code == 200 and got.json() == b and SECRET not in got.text

    assert admin.delete(base + HOOKS + f"/{b['id']}", timeout=10).status_code == 204
    assert admin.get(base + HOOKS + f"/{b['id']}", timeout=10).status_code == 404
    assert admin.delete(base + HOOKS + f"/{b['id']}", timeout=10).status_code == 404
    assert b["id"] not in [w["id"] for w in admin.get(base + HOOKS, timeout=10).json()]
    audit = admin.get(base + "/api/v1/audit", timeout=10)
    assert "webhook.create" in audit.text and "webhook.delete" in audit.text
    assert SECRET not in audit.text


@pytest.mark.parametrize("path", ["/0", "/999999", "/abc", "/-1", "/1e3", "/" + "9" * 40])
def test_unknown_ids_are_404(env, path):
    base, admin = env
    assert admin.get(base + HOOKS + path, timeout=10).status_code == 404
    assert admin.delete(base + HOOKS + path, timeout=10).status_code == 404


BAD = [
    ({"secret": SECRET}, "url"),
    ({"url": 5, "secret": SECRET}, "url"),
    ({"url": "ftp://x.example/", "secret": SECRET}, "url"),
    ({"url": "file:///etc/passwd", "secret": SECRET}, "url"),
    ({"url": "https://", "secret": SECRET}, "url"),
    ({"url": "https:///path", "secret": SECRET}, "url"),
    ({"url": "hooks.example/x", "secret": SECRET}, "url"),
    ({"url": "https://a b.example/", "secret": SECRET}, "url"),
    ({"url": "https://x.example/\n", "secret": SECRET}, "url"),
    ({"url": "https://x.example/\u00e9", "secret": SECRET}, "url"),
    ({"url": "https://x.example/" + "a" * 1100, "secret": SECRET}, "url"),
    ({"url": "https://x.example/"}, "secret"),
    ({"url": "https://x.example/", "secret": ""}, "secret"),
    ({"url": "https://x.example/", "secret": 12}, "secret"),
    ({"url": "https://x.example/", "secret": "s" * 256}, "secret"),
    ({"url": "https://x.example/", "secret": SECRET, "events": "dnssec.ds_seen"}, "events"),
    ({"url": "https://x.example/", "secret": SECRET, "events": []}, "events"),
    ({"url": "https://x.example/", "secret": SECRET, "events": ["dnssec.nope"]}, "events[0]"),
    ({"url": "https://x.example/", "secret": SECRET,
      "events": ["dnssec.ds_seen", 3]}, "events[1]"),
    ({"url": "https://x.example/", "secret": SECRET,
      "events": ["dnssec.ds_seen,dnssec.sign_failed"]}, "events[0]"),
    ({"url": "https://x.example/", "secret": SECRET, "zone": "bad..zone"}, "zone"),
    ({"url": "https://x.example/", "secret": SECRET, "zone": 7}, "zone"),
    ({"url": "https://x.example/", "secret": SECRET, "zone": "x" * 300}, "zone"),
    ({"url": "https://x.example/", "secret": SECRET, "retries": 3}, "retries"),
]


@pytest.mark.parametrize("body,field", BAD, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD)])
def test_bad_fields_are_refused_naming_the_field(env, body, field):
    base, admin = env
    before = admin.get(base + HOOKS, timeout=10).json()
    r = admin.post(base + HOOKS, json=body, timeout=10)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert SECRET not in r.text
    assert admin.get(base + HOOKS, timeout=10).json() == before


def test_malformed_bodies_are_4xx(env):
    base, admin = env
    for data in (b"{", b"[1]", b"null", b"", b"\xff\xfe"):
        r = admin.post(base + HOOKS, data=data, timeout=10,
                       headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (data, r.text)


def test_only_the_administrator_key(env):
    base, admin = env
    w = add(env, {"url": "https://admin-only.example/", "secret": SECRET})
    for perm in ("read", "update"):
        r = admin.post(base + "/api/v1/tokens", json={"name": "wh-" + perm, "permission": perm},
                       timeout=10)
        assert r.status_code == 201, r.text
        s = requests.Session()
        s.headers["X-API-Key"] = r.json()["token"]
        assert s.get(base + HOOKS, timeout=10).status_code == 403
        assert s.get(base + HOOKS + f"/{w['id']}", timeout=10).status_code == 403
        assert s.post(base + HOOKS, json={"url": "https://x.example/", "secret": "s"},
                      timeout=10).status_code == 403
        assert s.delete(base + HOOKS + f"/{w['id']}", timeout=10).status_code == 403
    assert requests.get(base + HOOKS, timeout=10).status_code == 401
    assert admin.get(base + HOOKS + f"/{w['id']}", timeout=10).status_code == 200


def test_secret_is_kept_for_delivery(env):
    """The secret is stored as given (deliveries need it), even though the API never shows
    it."""
    base, admin = env
    w = add(env, {"url": "https://kept.example/", "secret": SECRET + "-kept"})
    db = sqlite3.connect(f"file:{DATA[-1]}?mode=ro", uri=True)
    row = db.execute("SELECT secret FROM webhooks WHERE id = ?", (w["id"],)).fetchone()
    db.close()
    assert row == (SECRET + "-kept",)


def ensign(url, *args, check=None, stdin=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENSIGN_") or k == "ENSIGN_BIN"}
    env.update({"HOME": "/nonexistent", "ENSIGN_URL": url, "ENSIGN_TOKEN": KEY})
    env.pop("XDG_CONFIG_HOME", None)
    p = subprocess.run([servelib.ENSIGN, *args], capture_output=True, text=True, env=env,
                       timeout=60, input=stdin)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def test_cli_webhook_commands(env):
    base, admin = env
    p = ensign(base, "webhook", "add", "https://cli.example/hook", "--secret", SECRET,
               "--events", "dnssec.ds_seen,dnssec.rotation_start", "--zone", "cli.test",
               "--json", check=0)
    w = json.loads(p.stdout)
    assert w["events"] == ["dnssec.ds_seen", "dnssec.rotation_start"]
    assert w["zone"] == "cli.test." and SECRET not in p.stdout
    p = ensign(base, "webhook", "add", "https://stdin.example/", "--secret", "-",
               stdin=SECRET + "\n", check=0)
    assert p.stdout.startswith("added webhook ")
    lst = ensign(base, "webhook", "list", check=0).stdout
    assert "https://cli.example/hook" in lst and "cli.test." in lst and SECRET not in lst
    assert "https://stdin.example/" in lst
    bad = ensign(base, "webhook", "add", "https://x.example/", "--secret", "s", "--events",
                 "dnssec.nope", check=1)
    assert "events[0]" in bad.stderr
    ensign(base, "webhook", "add", "https://x.example/", check=2)
    ensign(base, "webhook", "delete", "abc", check=2)
    ensign(base, "webhook", "delete", str(w["id"]), check=0)
    ensign(base, "webhook", "delete", str(w["id"]), check=3)
