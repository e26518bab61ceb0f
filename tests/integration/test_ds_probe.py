"""The DS probe against real authoritative servers (knotd on 127.0.0.1): what the parent holds is
reported per server and compared with our DS set; failures are per-server sentences; a truncated
UDP answer is fetched again over TCP. Driven through tests/tools/ds_probe."""
import os
import subprocess

from servelib import Knotd, free_port

TOOLS = os.environ.get("ENSIGN_TOOLS", "/work/main/build/asan/tools")
PROBE = os.path.join(TOOLS, "ds_probe")

CHILD = "child.example."
DS_A = "11111 13 2 " + "A1" * 32
DS_B = "22222 13 2 " + "B2" * 32
DS_C = "33333 13 2 " + "C3" * 32


def parent_zone(path, ds_list, child=CHILD):
    lines = [
        "$ORIGIN example.",
        "$TTL 3600",
        "@ SOA ns.example. admin.example. 1 3600 900 604800 300",
        "@ NS ns.example.",
        "ns A 127.0.0.1",
        f"{child} NS ns.{child}",
        f"ns.{child} A 127.0.0.2",
    ]
    lines += [f"{child} DS {ds}" for ds in ds_list]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def child_zone(path):
    with open(path, "w") as f:
        f.write(f"$ORIGIN {CHILD}\n$TTL 3600\n@ SOA ns admin 1 3600 900 604800 300\n@ NS ns\n"
                "ns A 127.0.0.2\n")
    return path


def run_probe(zone, servers, ours=(), extra=(), timeout=800):
    assert os.access(PROBE, os.X_OK), f"{PROBE} is missing: build with `make asan`"
    args = [PROBE, "--timeout", str(timeout)] + list(extra)
    for ds in ours:
        args += ["--ds", ds]
    args += [zone] + [f"127.0.0.1:{p}" for p in servers]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    return parse(p.stdout)


def parse(text):
    """{'servers': {port: {...}}, 'seen': {tag: bool}, 'gone': ..., 'all_gone': bool, ...}"""
    out = {"servers": {}, "seen": {}, "gone": {}, "same": [], "raw": text}
    for line in text.splitlines():
        f = line.split(" ")
        kind = f[0]
        if kind == "server":
            port = int(f[1].rsplit(":", 1)[1])
            fields = dict(x.split("=", 1) for x in f[2:])
            fields.update(ds=set(), missing=set(), stale=set(), error="")
            out["servers"][port] = fields
        elif kind in ("ds", "missing", "stale"):
            port = int(f[1].rsplit(":", 1)[1])
            out["servers"][port][kind].add(" ".join(f[2:]))
        elif kind == "error":
            port = int(f[1].rsplit(":", 1)[1])
            out["servers"][port]["error"] = " ".join(f[2:])
        elif kind in ("seen", "gone"):
            out[kind][int(f[1])] = f[2] == "yes"
        elif kind in ("all_gone", "in_sync"):
            out[kind] = f[1] == "yes"
        elif kind == "same":
            out["same"].append(f[1] == "yes")
        elif kind == "streak":
            out["streak"] = int(f[1])
    return out


def test_probe_sees_the_ds_and_reports_missing_and_stale_after_the_parent_changes(tmp_path):
    zone = parent_zone(tmp_path / "example.zone", [DS_A])
    port = free_port()
    with Knotd([("example.", str(zone))], str(tmp_path / "k1"), port=port):
        r = run_probe(CHILD, [port], ours=[DS_A], extra=["--runs", "3"])
    s = r["servers"][port]
    assert s["status"] == "ok" and s["negative"] == "no", r["raw"]
    assert s["ds"] == {DS_A}
    assert r["seen"][11111] and not r["gone"][11111]
    assert r["in_sync"] and not r["all_gone"]
    assert r["same"] == [True, True] and r["streak"] == 3

    # The parent now holds another key's DS: ours is missing, theirs is stale.
    parent_zone(zone, [DS_B])
    with Knotd([("example.", str(zone))], str(tmp_path / "k2"), port=port):
        r = run_probe(CHILD, [port], ours=[DS_A])
    s = r["servers"][port]
    assert s["status"] == "ok"
    assert s["missing"] == {DS_A} and s["stale"] == {DS_B}, r["raw"]
    assert not r["seen"][11111] and r["gone"][11111]
    assert not r["in_sync"]

    # DS withdrawn: a proper NODATA from the parent, everything gone.
    parent_zone(zone, [])
    with Knotd([("example.", str(zone))], str(tmp_path / "k3"), port=port):
        r = run_probe(CHILD, [port], ours=[DS_A])
    s = r["servers"][port]
    assert s["status"] == "ok" and s["negative"] == "yes", r["raw"]
    assert r["all_gone"] and r["gone"][11111] and not r["seen"][11111]


def test_ds_is_seen_only_when_every_server_has_it(tmp_path):
    with_ds = parent_zone(tmp_path / "a.zone", [DS_A, DS_B])
    without = parent_zone(tmp_path / "b.zone", [DS_B])
    with Knotd([("example.", str(with_ds))], str(tmp_path / "ka")) as a, \
            Knotd([("example.", str(without))], str(tmp_path / "kb")) as b:
        r = run_probe(CHILD, [a.port, b.port], ours=[DS_A, DS_B])
    assert r["servers"][a.port]["missing"] == set()
    assert r["servers"][b.port]["missing"] == {DS_A}, r["raw"]
    assert not r["seen"][11111], "DS A is on one server only"
    assert r["seen"][22222], "DS B is on both servers"
    assert not r["gone"][11111]


def test_failing_servers_get_a_sentence_and_block_every_verdict(tmp_path):
    zone = parent_zone(tmp_path / "example.zone", [DS_A])
    child = child_zone(tmp_path / "child.zone")
    dead = free_port()
    with Knotd([("example.", str(zone))], str(tmp_path / "kp")) as parent, \
            Knotd([(CHILD, str(child))], str(tmp_path / "kc")) as childsrv:
        r = run_probe(CHILD, [parent.port, dead, childsrv.port], ours=[DS_A], timeout=500)
        assert r["servers"][parent.port]["status"] == "ok"
        d = r["servers"][dead]
        assert d["status"] in ("neterr", "timeout"), r["raw"]
        assert d["error"]
        # A server of the child zone answers DS from the child apex with the child's SOA: that
        # says nothing about the delegation and must not count as "DS gone".
        c = r["servers"][childsrv.port]
        assert c["status"] == "lame", r["raw"]
        assert "not from the parent" in c["error"]
        assert not r["seen"][11111] and not r["gone"][11111] and not r["all_gone"]
        assert r["streak"] == 0

        # A zone the server does not serve at all: REFUSED.
        r = run_probe("other.test.", [parent.port])
        s = r["servers"][parent.port]
        assert s["status"] == "refused" and "REFUSED" in s["error"], r["raw"]


def test_truncated_udp_answer_is_fetched_over_tcp(tmp_path):
    # Ten SHA-384 DS records: about 700 octets, beyond 512 but within knotd's 1232.
    many = [f"{40000 + i} 14 4 " + f"{i:02X}" * 48 for i in range(10)]
    zone = parent_zone(tmp_path / "example.zone", many)
    with Knotd([("example.", str(zone))], str(tmp_path / "k")) as k:
        r = run_probe(CHILD, [k.port], ours=many[:2], extra=["--edns", "512"])
        s = r["servers"][k.port]
        assert s["status"] == "ok" and s["tcp"] == "yes", r["raw"]
        assert len(s["ds"]) == 10 and s["missing"] == set()
        assert len(s["stale"]) == 8
        assert r["seen"][40000] and r["seen"][40001]

        # With a large buffer the same answer comes over UDP.
        r = run_probe(CHILD, [k.port], ours=many[:2], extra=["--edns", "1232"])
        s = r["servers"][k.port]
        assert s["status"] == "ok" and s["tcp"] == "no" and len(s["ds"]) == 10, r["raw"]


def test_a_parent_with_more_ds_than_the_limit_is_a_bad_reply(tmp_path):
    flood = [f"{50000 + i} 13 2 " + f"{i:02X}" * 32 for i in range(70)]
    zone = parent_zone(tmp_path / "example.zone", flood)
    with Knotd([("example.", str(zone))], str(tmp_path / "k")) as k:
        r = run_probe(CHILD, [k.port], ours=flood[:1])
    s = r["servers"][k.port]
    assert s["status"] == "badreply" and "more than 64 DS" in s["error"], r["raw"]
    assert s["tcp"] == "yes" and s["nds"] == "0"
    assert not r["seen"][50000] and not r["gone"][50000]


# --- the parent's servers found by iterative lookup from root hints ---------------------------
# Every server listens on its own loopback address and one shared port, as referrals carry no
# port: the lookup asks the servers it learns of on that port (ds_probe --lookup PORT).

def lab_zones(tmp_path, child_ds):
    """A root (127.0.0.2) delegating example. to ns1.example. (glue 127.0.0.3) and ns2.other.
    (no glue: other. is delegated to 127.0.0.4, whose zone says ns2.other. is 127.0.0.5); the
    parent example. (served by 127.0.0.3 and 127.0.0.5) delegating child.example. with
    child_ds."""
    root = tmp_path / "root.zone"
    root.write_text("\n".join([
        "$ORIGIN .", "$TTL 3600",
        ". SOA a.root-servers.net. admin.root. 1 3600 900 604800 300",
        ". NS a.root-servers.net.", "a.root-servers.net. A 127.0.0.2",
        "example. 7200 NS ns1.example.", "example. 7200 NS ns2.other.",
        "ns1.example. 7200 A 127.0.0.3",
        "other. NS ns.other.", "ns.other. A 127.0.0.4", ""]))
    other = tmp_path / "other.zone"
    other.write_text("\n".join([
        "$ORIGIN other.", "$TTL 3600", "@ SOA ns admin 1 3600 900 604800 300", "@ NS ns",
        "ns A 127.0.0.4", "ns2 900 A 127.0.0.5", ""]))
    parent = tmp_path / "example.zone"
    lines = ["$ORIGIN example.", "$TTL 3600",
             "@ SOA ns1.example. admin.example. 1 3600 900 604800 300",
             "@ 1800 NS ns1.example.", "@ 1800 NS ns2.other.", "ns1 A 127.0.0.3",
             f"{CHILD} NS ns.{CHILD}", f"ns.{CHILD} A 127.0.0.9"]
    lines += [f"{CHILD} DS {ds}" for ds in child_ds]
    parent.write_text("\n".join(lines) + "\n")
    return root, other, parent


class Lab:
    """knotd on 127.0.0.2 (root), .3 and .5 (example.), .4 (other.), all on one port."""

    def __init__(self, tmp_path, child_ds):
        self.port = free_port("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
        root, other, parent = lab_zones(tmp_path, child_ds)
        self.servers = [
            Knotd([(".", str(root))], str(tmp_path / "root"), port=self.port, addr="127.0.0.2"),
            Knotd([("example.", str(parent))], str(tmp_path / "p1"), port=self.port,
                  addr="127.0.0.3"),
            Knotd([("other.", str(other))], str(tmp_path / "other"), port=self.port,
                  addr="127.0.0.4"),
            Knotd([("example.", str(parent))], str(tmp_path / "p2"), port=self.port,
                  addr="127.0.0.5"),
        ]

    def __enter__(self):
        started = []
        try:
            for s in self.servers:
                s.__enter__()
                started.append(s)
        except Exception:
            for s in started:
                s.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for s in self.servers:
            s.__exit__()


def lookup(zone, hints, port, ours=()):
    args = [PROBE, "--timeout", "800", "--tries", "1", "--lookup", str(port)]
    for ds in ours:
        args += ["--ds", ds]
    args += [zone] + hints
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    out = {"pservers": set(), "raw": p.stdout}
    for line in p.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "pserver":
            out["pservers"].add(rest)
        elif key in ("parent", "lookup-error"):
            out[key] = rest
        elif key in ("ttl", "queries"):
            out[key] = int(rest)
    out["probe"] = parse(p.stdout)
    return out


def test_lookup_finds_every_parent_server_from_the_root_and_probes_them(tmp_path):
    with Lab(tmp_path, [DS_A]) as lab:
        r = lookup(CHILD, [f"127.0.0.2:{lab.port}"], lab.port, ours=[DS_A])
    assert "lookup-error" not in r, r["raw"]
    assert r["parent"] == "example.", r["raw"]
    # ns1.example. by its glue, ns2.other. looked up through the other. zone
    assert r["pservers"] == {f"127.0.0.3:{lab.port}", f"127.0.0.5:{lab.port}"}, r["raw"]
    assert r["ttl"] == 900, r["raw"]  # the smallest: ns2.other.'s A record
    assert 0 < r["queries"] <= 64
    pr = r["probe"]
    assert {s["status"] for s in pr["servers"].values()} == {"ok"}, r["raw"]
    assert pr["seen"][11111] and pr["in_sync"], r["raw"]


def test_lookup_of_an_insecure_delegation_finds_the_parent_from_its_soa(tmp_path):
    with Lab(tmp_path, []) as lab:
        r = lookup(CHILD, [f"127.0.0.2:{lab.port}"], lab.port, ours=[DS_A])
    assert r.get("parent") == "example.", r["raw"]
    assert len(r["pservers"]) == 2
    assert r["probe"]["all_gone"] and not r["probe"]["seen"][11111], r["raw"]


def test_lookup_failures_are_sentences(tmp_path):
    dead = free_port()
    r = lookup(CHILD, [f"127.0.0.1:{dead}"], dead)
    assert "no server answered" in r.get("lookup-error", ""), r["raw"]
    # A "root" that serves the child zone itself answers DS from the child's apex: the parent
    # cannot be told from that, and the lookup says so instead of probing the wrong servers.
    child = child_zone(tmp_path / "child.zone")
    with Knotd([(CHILD, str(child))], str(tmp_path / "kc")) as k:
        r = lookup(CHILD, [f"127.0.0.1:{k.port}"], k.port)
    assert "from the zone itself" in r.get("lookup-error", ""), r["raw"]
    # A root that knows nothing of example.: a negative answer from the root zone itself, so
    # the root is the parent as far as DNS can tell, and its servers are listed.
    root = tmp_path / "bare-root.zone"
    root.write_text("$ORIGIN .\n$TTL 60\n. SOA a.root. admin. 1 3600 900 604800 30\n"
                    ". NS a.root.\na.root. A 127.0.0.1\n")
    with Knotd([(".", str(root))], str(tmp_path / "kr")) as k:
        r = lookup(CHILD, [f"127.0.0.1:{k.port}"], k.port)
    assert r.get("parent") == ".", r["raw"]
    assert r["pservers"] == {f"127.0.0.1:{k.port}"}, r["raw"]
