"""The `ensign token create|list|revoke` commands against a running `ensign serve`: the secret
printed once at creation and never listed, a read token that reads but may not change anything
(exit 6), a zone-limited token, and a revoked token refused (exit 6)."""
import json
import os
import subprocess

import pytest

import servelib

KEY = "cli-tokens-admin-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("clitok")
    with servelib.ApiServer(work, KEY) as srv:
        url = srv.base
        yield url


def ensign(*args, url=None, token=KEY, check=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENSIGN_") or k == "ENSIGN_BIN"}
    env["HOME"] = "/nonexistent"
    env.pop("XDG_CONFIG_HOME", None)
    if url is not None:
        env["ENSIGN_URL"] = url
    if token is not None:
        env["ENSIGN_TOKEN"] = token
    p = subprocess.run([servelib.ENSIGN, *args], capture_output=True, text=True, env=env,
                       timeout=60)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def create_token(url, name, perm, *zones):
    args = ["token", "create", name, "--permission", perm]
    for z in zones:
        args += ["--zone", z]
    return json.loads(ensign(*args, "--json", url=url, check=0).stdout)


def test_create_prints_the_secret_once_and_list_never_shows_it(server):
    url = server
    p = ensign("token", "create", "deploy", "--permission", "update", url=url, check=0)
    secrets = [w for w in p.stdout.split() if w.startswith("ens_")]
    assert len(secrets) == 1, p.stdout
    secret = secrets[0]
    assert "only this once" in p.stdout
    assert "update" in p.stdout and "deploy" in p.stdout
    table = ensign("token", "list", url=url, check=0).stdout
    assert "deploy" in table and "ID" in table and "PERMISSION" in table
    assert secret not in table and "ens_" not in table
    listed = json.loads(ensign("token", "list", "--json", url=url, check=0).stdout)
    assert any(t["name"] == "deploy" and t["permission"] == "update" for t in listed)
    assert secret not in json.dumps(listed)
    assert all("token" not in t for t in listed)
    # The secret works: it can list zones.
    ensign("zone", "list", url=url, token=secret, check=0)


def test_read_token_lists_zones_but_cannot_set_records(server):
    url = server
    ensign("zone", "create", "tok.test", "--ns", "ns1.example.net.", url=url, check=0)
    t = create_token(url, "reader", "read")
    assert t["permission"] == "read" and t["token"].startswith("ens_")
    out = ensign("zone", "list", url=url, token=t["token"], check=0).stdout
    assert "tok.test." in out
    ensign("record", "list", "tok.test", url=url, token=t["token"], check=0)
    p = ensign("record", "set", "tok.test", "www", "A", "300", "192.0.2.1", url=url,
               token=t["token"], check=6)
    assert "403" in p.stderr
    # Nor may it manage tokens.
    ensign("token", "list", url=url, token=t["token"], check=6)
    ensign("token", "create", "x", "--permission", "read", url=url, token=t["token"], check=6)


def test_zone_limited_token(server):
    url = server
    ensign("zone", "create", "lim-a.test", "--ns", "ns1.example.net.", url=url, check=0)
    ensign("zone", "create", "lim-b.test", "--ns", "ns1.example.net.", url=url, check=0)
    t = create_token(url, "lim", "update", "lim-a.test")
    assert t["zones"] == ["lim-a.test."]
    table = ensign("token", "list", url=url, check=0).stdout
    assert any("lim-a.test." in line and " lim " in line for line in table.splitlines())
    ensign("record", "set", "lim-a.test", "www", "A", "300", "192.0.2.1", url=url,
           token=t["token"], check=0)
    ensign("record", "set", "lim-b.test", "www", "A", "300", "192.0.2.1", url=url,
           token=t["token"], check=6)


def test_revoke_then_refused(server):
    url = server
    t = create_token(url, "short", "update")
    ensign("zone", "list", url=url, token=t["token"], check=0)
    out = ensign("token", "revoke", str(t["id"]), url=url, check=0).stdout
    assert str(t["id"]) in out
    ensign("zone", "list", url=url, token=t["token"], check=6)
    listed = {x["id"]: x for x in json.loads(ensign("token", "list", "--json", url=url,
                                                    check=0).stdout)}
    assert listed[t["id"]]["revoked"] is not None
    row = [line for line in ensign("token", "list", url=url, check=0).stdout.splitlines()
           if line.split()[0] == str(t["id"])]
    assert len(row) == 1 and row[0].split()[4] != "-"
    # Revoking an unknown token: not found.
    ensign("token", "revoke", "999999", url=url, check=3)


def test_usage_errors(server):
    url = server
    ensign("token", "create", "nope", url=url, check=2)  # no --permission
    ensign("token", "create", "nope", "--permission", "admin", url=url, check=2)
    ensign("token", "revoke", "../zones", url=url, check=2)
    ensign("token", "revoke", url=url, check=2)
    ensign("token", "frobnicate", url=url, check=2)
    # The token options belong to the token commands only.
    ensign("zone", "list", "--permission", "read", url=url, check=2)
    help_text = ensign("token", "--help", url=url, check=0).stdout
    assert "ensign token create NAME --permission read|update" in help_text
    assert "ensign token list" in help_text and "ensign token revoke ID" in help_text
    # Without the admin key: not authorised.
    ensign("token", "list", url=url, token="wrong", check=6)
