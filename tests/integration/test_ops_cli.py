"""The command line as an operator uses it.

Every command and subcommand answers --help (exit 0, the usage on standard output). The CLI
does for DNSSEC what the API does: algorithm, scheme, denial, NSEC3 parameters, policy, parent
servers, disabling the safe way or by force, confirming the DS withdrawn; each is checked on the
API and in DNS. Nothing a person reads shows a Unix time: times are RFC 3339 UTC, waits are
durations (1h5m), also inside the API's refusals. `ensign audit` shows who changed what. The
banner of `make run` (scripts/run.sh) is run command by command on its example zone."""
import json
import os
import re
import shlex
import signal
import subprocess

import dns.message
import dns.query
import dns.rdatatype
import pytest

import opslib
import servelib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ZONES = "/api/v1/servers/localhost/zones"
EPOCH = re.compile(r"\b1[5-9]\d{8}\b")

COMMANDS = ["zone-check", "zone-print", "keygen", "key-import", "key-link", "key-destroy", "ds",
            "sign", "verify", "serve", "zone", "record", "dnssec", "key", "token", "keystore",
            "audit", "policy", "webhook"]
SUBCOMMANDS = {
    "zone": ["list", "create", "delete", "import", "export", "rectify"],
    "record": ["list", "set", "delete"],
    "dnssec": ["enable", "disable", "status", "timeline", "check-ds", "ds-withdrawn",
               "parent-servers"],
    "key": ["list", "generate", "activate", "deactivate", "publish", "unpublish", "delete"],
    "token": ["create", "list", "revoke"],
    "keystore": ["list"],
    "policy": ["list", "show", "create", "set", "delete"],
    "webhook": ["list", "add", "delete"],
}


def run(*args, env=None):
    return subprocess.run([opslib.ENSIGN, *args], capture_output=True, text=True, timeout=60,
                          env=env)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cmd):
    p = run(cmd, "--help")
    assert p.returncode == 0, (cmd, p.stdout, p.stderr)
    assert p.stdout.startswith("usage:"), p.stdout
    for sub in SUBCOMMANDS.get(cmd, []):
        assert re.search(rf"\b{cmd} .*{re.escape(sub)}\b", p.stdout), (cmd, sub, p.stdout)
        q = run(cmd, sub, "--help")
        assert q.returncode == 0 and q.stdout.startswith("usage:"), (cmd, sub, q.stderr)
    top = run("help")
    assert top.returncode == 0 and cmd in top.stdout


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("opscli")
    with servelib.ApiServer(work, "ops-cli-key", test_clock="now") as s:
        yield s


def api(srv, method, path, **kw):
    import requests
    r = requests.request(method, srv.base + path, headers={"X-API-Key": srv.key}, timeout=60,
                         **kw)
    return r


def query(srv, name, t):
    return dns.query.udp(dns.message.make_query(name, t, want_dnssec=True), servelib.ADDR,
                         port=srv.port, timeout=5)


def test_dnssec_options_through_the_cli(srv):
    z = "cliopts.example."
    opslib.cli(srv, "zone", "create", z, "--ns", "ns1.example.net.")
    opslib.cli(srv, "dnssec", "enable", z, "--scheme", "ksk+zsk", "--algorithm", "ed25519",
               "--denial", "nsec3", "--iterations", "0", "--salt", "ab12", "--opt-out", "on",
               "--parent-servers", "127.0.0.1:9,127.0.0.2:9")
    zone = api(srv, "GET", f"{ZONES}/{z}").json()
    assert zone["nsec3param"] == "1 1 0 ab12", zone["nsec3param"]
    keys = api(srv, "GET", f"{ZONES}/{z}/cryptokeys").json()
    assert sorted(k["keytype"] for k in keys) == ["ksk", "zsk"]
    assert {k["algorithm"] for k in keys} == {"ED25519"}
    st = api(srv, "GET", f"{ZONES}/{z}/dnssec").json()
    assert st["parentServers"] == ["127.0.0.1:9", "127.0.0.2:9"]
    assert any(r.rdtype == dns.rdatatype.NSEC3 for r in query(srv, f"nx.{z}", "A").authority)
    # the denial changed, the policy named, the parent servers cleared
    opslib.cli(srv, "dnssec", "enable", z, "--denial", "nsec")
    assert any(r.rdtype == dns.rdatatype.NSEC for r in query(srv, f"nx.{z}", "A").authority)
    opslib.cli(srv, "dnssec", "enable", z, "--policy", "default")
    assert api(srv, "GET", f"{ZONES}/{z}/dnssec").json()["policy"] == "default"
    opslib.cli(srv, "dnssec", "enable", z, "--policy", "-")
    assert api(srv, "GET", f"{ZONES}/{z}/dnssec").json()["policy"] is None
    opslib.cli(srv, "dnssec", "parent-servers", z, "-")
    assert api(srv, "GET", f"{ZONES}/{z}/dnssec").json()["parentServers"] == []
    # a refused option names the field
    p = opslib.cli(srv, "dnssec", "enable", z, "--iterations", "500", check=False)
    assert p.returncode == 1 and "nsec3.iterations" in p.stderr, p.stderr


def test_disable_the_safe_way_and_confirm_the_ds_withdrawn(srv):
    z = "cliwd.example."
    opslib.cli(srv, "zone", "create", z, "--ns", "ns1.example.net.")
    opslib.cli(srv, "dnssec", "enable", z)
    out = opslib.cli(srv, "dnssec", "disable", z).stdout
    assert "waiting on:    ds-removal" in out, out
    assert "ds-withdrawn" in out  # the note says what to do
    out = opslib.cli(srv, "dnssec", "ds-withdrawn", z).stdout
    assert "withdrawn" in out
    st = api(srv, "GET", f"{ZONES}/{z}/dnssec").json()
    assert st["rollover"]["waitingOn"] == "ttl-hold", st["rollover"]
    # the parent DS TTL (a day) later the key manager unsigns it
    srv.clock(advance=86400 + 7200)
    assert api(srv, "GET", f"{ZONES}/{z}/dnssec").json()["enabled"] is False
    audit = opslib.cli(srv, "audit", "--zone", z).stdout.splitlines()
    assert audit[0].split()[:5] == ["ID", "AT", "ACTOR", "ACTION", "ZONE"]
    rows = [ln.split() for ln in audit[1:]]
    actions = {(r[2], r[3]) for r in rows}
    assert ("admin", "dnssec.ds-withdrawn") in actions and ("admin", "dnssec.disable") in actions
    assert any(r[2] == "key-manager" for r in rows), audit
    assert all(opslib.RFC3339.match(r[1]) for r in rows), audit
    # by force: unsigned at once
    z2 = "cliforce.example."
    opslib.cli(srv, "zone", "create", z2, "--ns", "ns1.example.net.")
    opslib.cli(srv, "dnssec", "enable", z2)
    out = opslib.cli(srv, "dnssec", "disable", z2, "--force").stdout
    assert "dnssec:        off" in out, out
    assert '"forced": true' in opslib.cli(srv, "audit", "--zone", z2, "--json").stdout.replace(
        '\\"', '"')


def test_people_never_read_a_unix_time(srv):
    z = "clitime.example."
    opslib.cli(srv, "zone", "create", z, "--ns", "ns1.example.net.")
    opslib.cli(srv, "dnssec", "enable", z, "--scheme", "ksk+zsk")
    opslib.cli(srv, "token", "create", "t1", "--permission", "read")
    opslib.cli(srv, "policy", "create", "clitime", "--zsk-lifetime", "30d", "--dnskey-ttl", "1h")
    opslib.cli(srv, "webhook", "add", "http://127.0.0.1:9/h", "--secret", "s")
    outs = {}
    for args in (["token", "list"], ["policy", "list"], ["policy", "show", "clitime"],
                 ["dnssec", "status", z], ["dnssec", "timeline", z], ["audit"], ["key", "list", z],
                 ["webhook", "list"], ["zone", "list"]):
        outs[" ".join(args)] = opslib.cli(srv, *args).stdout
    for what, out in outs.items():
        assert not EPOCH.search(out), f"ensign {what} shows a Unix time:\n{out}"
    show = dict(re.findall(r"^(\w+):\s+(\S+)$", outs["policy show clitime"], re.M))
    assert show["zskLifetime"] == "30d" and show["dnskeyTtl"] == "1h", show
    assert show["kskLifetime"] == "unlimited" and show["created"].endswith("Z"), show
    assert opslib.RFC3339.match(show["created"]), show
    assert "30d" in outs["policy list"]
    # a refusal: its waits as durations, its steps in order
    keys = api(srv, "GET", f"{ZONES}/{z}/cryptokeys").json()
    ksk = [k for k in keys if k["keytype"] == "ksk"][0]
    p = opslib.cli(srv, "key", "delete", z, str(ksk["id"]), check=False)
    assert p.returncode == 4, p.stderr
    assert "the safe order:" in p.stderr and "1. " in p.stderr
    assert not re.search(r"\(\d+ s\)", p.stderr), p.stderr
    assert re.search(r"\(\d+[dhm]", p.stderr), p.stderr
    assert not EPOCH.search(p.stderr), p.stderr


def test_make_run_banner_commands_work(tmp_path):
    """scripts/run.sh (what `make run` runs after building) serves the example zone and prints
    commands; each is run as printed and must work."""
    dns_port, api_port = servelib.free_port(), servelib.free_port()
    while api_port == dns_port:
        api_port = servelib.free_port()
    env = dict(os.environ, ENSIGN_DATA=str(tmp_path / "var"), ENSIGN_DNS=f"127.0.0.1:{dns_port}",
               ENSIGN_API=f"127.0.0.1:{api_port}", ENSIGN_API_KEY="run-banner-key")
    for k in ("ENSIGN_URL", "ENSIGN_TOKEN"):
        env.pop(k, None)
    bin_path = os.path.join(ROOT, "build", "rel", "ensign")
    assert os.access(bin_path, os.X_OK), "make all first: scripts/run.sh runs build/rel/ensign"
    proc = subprocess.Popen(["sh", "scripts/run.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    banner = []
    try:
        for line in proc.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops the server"):
                break
        assert banner and banner[-1].startswith("Ctrl-C"), banner
        cmds = []
        for line in banner:
            m = re.match(r"^\s*(?:DNS:|API:|CLI:|Metrics:)?\s*((?:dig|curl|export|build/rel/ensign)\s.*)$",
                         line)
            if m:
                cmds.append(re.sub(r"\s+#.*$", "", m.group(1)))
        assert len(cmds) >= 6, banner
        script = "set -e\n"
        outs = []
        for c in cmds:
            if c.startswith("export"):
                script += c + "\n"
                continue
            p = subprocess.run(["sh", "-c", script + c], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=60)
            assert p.returncode == 0, f"banner command failed: {c}\n{p.stdout}{p.stderr}"
            outs.append((c, p.stdout))
        got = dict(outs)
        dig = [o for c, o in outs if c.startswith("dig")][0]
        assert "RRSIG" in dig and "192.0.2" in dig, dig
        cur = [o for c, o in outs if c.startswith("curl") and "/zones/" in c][0]
        assert json.loads(cur)["name"] == "example.com.", cur
        met = [o for c, o in outs if c.startswith("curl") and c.endswith("/metrics")][0]
        assert 'ensign_zone_serial{zone="example.com."}' in met, met
        assert any("192.0.2.82" in o for c, o in outs if "--name blog" in c)
        ds = [o for c, o in outs if c.endswith("ds example.com")][0]
        assert "\tDS\t" in ds, ds
        assert any("example.com." in o for c, o in got.items() if c.endswith("zone list"))
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_runbook_and_readme_commands_exist():
    """Every `ensign` command line in the runbooks and the README names a command, subcommand
    and options that exist (as the command's --help lists them)."""
    pages = [os.path.join(ROOT, "docs", "runbooks", f) for f in
             sorted(os.listdir(os.path.join(ROOT, "docs", "runbooks")))] + \
        [os.path.join(ROOT, "README.md")]
    helps = {}
    checked = 0
    for page in pages:
        with open(page) as f:
            text = f.read()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if not words:
                    continue
                if words[0] in ("build/ensign", "build/rel/ensign"):
                    words[0] = "ensign"
                if words[0] != "ensign" or len(words) < 2:
                    continue
                cmd = words[1]
                assert cmd in COMMANDS + ["version", "help"], f"{page}: unknown command: {line}"
                if cmd not in helps:
                    helps[cmd] = run(cmd, "--help").stdout
                h = helps[cmd]
                if cmd in SUBCOMMANDS and len(words) > 2 and not words[2].startswith("-"):
                    for sub in words[2].split("|"):  # "status|timeline|check-ds"
                        assert re.search(rf"\b{re.escape(sub)}\b", h), \
                            f"{page}: '{sub}' is no subcommand of {cmd}: {line}"
                for w in words[2:]:
                    w = w.strip("[]|")  # a synopsis: [--nsec | --nsec3 [--opt-out]]
                    if w.startswith("--"):
                        assert w.split("=")[0] in h, f"{page}: {cmd} has no option {w}: {line}"
                checked += 1
    assert checked >= 60, checked


def test_every_alert_has_its_runbook():
    import yaml
    with open(os.path.join(ROOT, "monitoring", "ensign_rules.yml")) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    index = open(os.path.join(ROOT, "docs", "runbooks", "README.md")).read()
    pages = set()
    for r in rules:
        url = r["annotations"]["runbook_url"]
        assert url.startswith("docs/runbooks/") and url.endswith(".md"), url
        path = os.path.join(ROOT, url)
        assert os.path.isfile(path), url
        assert r["alert"] in open(path).read(), (r["alert"], url)
        assert r["alert"] in index and os.path.basename(url) in index
        assert r["labels"]["severity"] in ("page", "ticket")
        pages.add(os.path.basename(url))
    assert len(pages) == len(rules), "two alerts share a page"
    for incident in ("expired-rrsig.md", "ds-mismatch.md", "registrar-ds-stuck.md",
                     "ksk-rollover-stuck.md", "key-compromise.md", "going-insecure.md"):
        assert os.path.isfile(os.path.join(ROOT, "docs", "runbooks", incident)), incident
        assert incident in index


def test_dashboard_check_finds_a_metric_that_does_not_exist(tmp_path):
    dash = os.path.join(ROOT, "monitoring", "grafana", "ensign-dashboard.json")
    checker = os.path.join(ROOT, "monitoring", "check_dashboard.py")
    ok = subprocess.run(["/usr/bin/python3", checker, dash, opslib.ENSIGN], capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0 and "all exported" in ok.stdout, ok.stdout + ok.stderr
    with open(dash) as f:
        d = json.load(f)
    d["panels"][1]["targets"].append({"refId": "Z", "expr": "rate(ensign_no_such_total[5m])"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    p = subprocess.run(["/usr/bin/python3", checker, str(bad), opslib.ENSIGN], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 1 and "ensign_no_such_total" in p.stderr, p.stdout + p.stderr
