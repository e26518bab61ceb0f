"""Catalog zones (RFC 9432, schema version 2): `ensign serve --catalog catalog.invalid.
--catalog-acl inherit` keeps a catalog of its zones; knotd (`catalog-role: interpret` with a
template) and named 9.18 (`catalog-zones { zone ... default-primaries ... }`) are configured
once as its consumers, nothing else: transfers of the catalog are signed with a TSIG key that
the catalog's metadata names (TSIG-ALLOW-AXFR), NOTIFY goes to the catalog's ALSO-NOTIFY, and
the members take both from the catalog (--catalog-acl inherit).

Zones created through the API then appear on Knot and BIND (they answer SOA queries with
ensign's serial) with no change to either's configuration; a zone deleted through the API
disappears from both (REFUSED or NOTAUTH, no SOA). dnspython reads the catalog by AXFR: the
version TXT "2", one PTR per member at <id>.zones.<catalog>, the catalog itself no member.
The catalog's name is refused for a zone created through the API (409, code "catalog"), and
for its deletion."""
import os

import dns.message
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.zone

import livelib
import xfrlib

CATALOG = "catalog.invalid."
TSIGKEYS = "/api/v1/servers/localhost/tsigkeys"


class KnotConsumer(xfrlib.KnotSecondary):
    name = "knot"

    def start(self):
        w = self.workdir
        os.makedirs(w, exist_ok=True)
        lines = [
            "server:",
            f"    listen: {self.addr}@{self.port}",
            f"    rundir: {w}",
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "log:",
            f"  - target: {self.log_path}",
            "    any: info",
            "database:",
            f"    storage: {w}",
            "key:",
            f"  - id: {xfrlib.KEY_NAME}",
            f"    algorithm: {xfrlib.KEY_ALG}",
            f"    secret: {xfrlib.KEY_SECRET}",
            "remote:",
            "  - id: primary",
            f"    address: {xfrlib.ADDR}@{self.primary_port}",
            f"    via: {self.addr}",
            f"    key: {xfrlib.KEY_NAME}",
            "acl:",
            "  - id: notify",
            "    address: 127.0.0.0/8",
            f"    key: {xfrlib.KEY_NAME}",
            "    action: notify",
            "  - id: transfer",
            "    address: 127.0.0.0/8",
            "    action: transfer",
            "template:",
            "  - id: default",
            f"    storage: {w}",
            "    zonefile-sync: -1",
            "    zonefile-load: none",
            "    journal-content: changes",
            "    semantic-checks: off",
            "  - id: member",
            f"    storage: {w}",
            "    zonefile-sync: -1",
            "    zonefile-load: none",
            "    journal-content: changes",
            "    master: primary",
            "    acl: [notify, transfer]",
            "zone:",
            f"  - domain: {CATALOG}",
            "    master: primary",
            "    acl: notify",
            "    catalog-role: interpret",
            "    catalog-template: member",
        ]
        conf = os.path.join(w, "knot.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return self._start(["knotd", "-c", conf])


class BindConsumer(xfrlib.BindSecondary):
    name = "named"

    def start(self):
        w = self.workdir
        os.makedirs(w, exist_ok=True)
        conf = os.path.join(w, "named.conf")
        primary = f'{xfrlib.ADDR} port {self.primary_port} key "{xfrlib.KEY_NAME}"'
        with open(conf, "w") as f:
            f.write(f"""options {{
    directory "{w}";
    pid-file "{w}/named.pid";
    session-keyfile "{w}/session.key";
    managed-keys-directory "{w}";
    listen-on port {self.port} {{ {self.addr}; }};
    listen-on-v6 {{ none; }};
    transfer-source {self.addr};
    query-source address {self.addr};
    notify-source {self.addr};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-query {{ any; }};
    allow-transfer {{ 127.0.0.0/8; }};
    allow-new-zones yes;
    catalog-zones {{
        zone "{CATALOG}" default-primaries {{ {primary}; }} in-memory yes;
    }};
}};
key "{xfrlib.KEY_NAME}" {{ algorithm {xfrlib.KEY_ALG}; secret "{xfrlib.KEY_SECRET}"; }};
controls {{ }};
logging {{
    channel all {{ file "{self.log_path}"; severity info; print-time yes; print-category yes; }};
    category default {{ all; }};
    category xfer-in {{ all; }};
    category notify {{ all; }};
}};
zone "{CATALOG}" {{ type secondary; file "{w}/catalog.db";
    primaries {{ {primary}; }}; allow-notify {{ 127.0.0.0/8; }}; }};
""")
        return self._start(["named", "-f", "-c", conf, "-n", "1"])


def put_meta(live, zone, kind, values):
    r = live.req("PUT", f"{livelib.ZONES}/{zone}/metadata/{kind}", json={"metadata": values})
    assert r.status_code == 200, r.text


def catalog_members(live):
    """{member zone: id} of the catalog as ensign serves it (AXFR signed with the key)."""
    msgs = dns.query.xfr(xfrlib.ADDR, CATALOG, port=live.port, keyring=xfrlib.keyring(),
                         keyname=xfrlib.KEY_NAME, relativize=False, timeout=20)
    z = dns.zone.from_xfr(msgs, relativize=False)
    version = z.get_rdataset(f"version.{CATALOG}", "TXT")
    assert version is not None and [r.strings for r in version] == [(b"2",)], version
    out = {}
    suffix = f".zones.{CATALOG}"
    for name, node in z.nodes.items():
        ptr = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.PTR)
        if ptr is None:
            continue
        owner = name.to_text()
        assert owner.endswith(suffix) and "." not in owner[: -len(suffix)], owner
        assert len(ptr) == 1, ptr
        out[ptr[0].target.to_text()] = owner[: -len(suffix)]
    return out


def served_serial(x, zone):
    """The SOA serial the consumer answers for zone with AA, or None (REFUSED, NOTAUTH...)."""
    q = dns.message.make_query(zone, "SOA")
    try:
        r = dns.query.udp(q, x.addr, port=x.port, timeout=2)
    except Exception:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def wait_for(cond, what, timeout=60.0, log=None):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} after {timeout} s" + (f"\n{log()[-4000:]}" if log else ""))


def test_knot_and_bind_follow_the_catalog(tmp_path):
    extra = ["--catalog", CATALOG, "--catalog-acl", "inherit"]
    with livelib.Live(tmp_path / "ensign", extra=extra) as live:
        r = live.req("POST", TSIGKEYS, json={"name": xfrlib.KEY_NAME, "algorithm": xfrlib.KEY_ALG,
                                             "key": xfrlib.KEY_SECRET})
        assert r.status_code == 201, r.text
        # the catalog exists from the start; its name is not free for a zone
        r = live.req("POST", livelib.ZONES, json={"name": CATALOG, "kind": "Native"})
        assert r.status_code == 409 and r.json()["code"] == "catalog", r.text
        assert "catalog" in r.text
        r = live.req("DELETE", f"{livelib.ZONES}/{CATALOG}")
        assert r.status_code == 409, r.text
        consumers = [KnotConsumer(tmp_path / "knot", [CATALOG], live.port, addr="127.0.0.12"),
                     BindConsumer(tmp_path / "named", [CATALOG], live.port, addr="127.0.0.1")]
        put_meta(live, CATALOG, "TSIG-ALLOW-AXFR", [xfrlib.KEY_NAME])
        put_meta(live, CATALOG, "ALSO-NOTIFY", [f"{x.addr}:{x.port}" for x in consumers])
        assert catalog_members(live) == {}
        with consumers[0], consumers[1]:
            # Knot does not answer queries for a catalog it interprets: its log says
            consumers[1].wait_serial(CATALOG, live.serial(CATALOG))
            wait_for(lambda: "catalog reloaded" in consumers[0].log(), "knot: no catalog",
                     log=consumers[0].log)
            zones = ["one.catalog-test.example.", "two.catalog-test.example."]
            for z in zones:
                live.create(z)
            live.enable(zones[1])  # a signed member too
            members = catalog_members(live)
            assert set(members) == set(zones), members
            assert len(set(members.values())) == 2, members
            for z in zones:
                want = live.serial(z)
                for x in consumers:
                    wait_for(lambda: served_serial(x, z) == want,
                             f"{x.name} does not serve {z} at {want}", log=x.log)
            # the copies are ensign's zones, record for record
            for z in zones:
                want = xfrlib.text_lines(live.export(z), z)
                for x in consumers:
                    assert x.axfr(z) == want, (x.name, z)
            # a change of a member reaches both (NOTIFY from the catalog's ALSO-NOTIFY)
            new = live.patch_ok(zones[0], [{"name": f"www.{zones[0]}", "type": "A", "ttl": 60,
                                            "changetype": "REPLACE",
                                            "records": [{"content": "192.0.2.7"}]}])
            for x in consumers:
                wait_for(lambda: served_serial(x, zones[0]) == new,
                         f"{x.name} does not follow {zones[0]} to {new}", log=x.log)
            # deleted through the API: gone from the catalog, then from both consumers
            r = live.req("DELETE", f"{livelib.ZONES}/{zones[0]}")
            assert r.status_code == 204, r.text
            assert set(catalog_members(live)) == {zones[1]}
            for x in consumers:
                wait_for(lambda: served_serial(x, zones[0]) is None,
                         f"{x.name} still serves {zones[0]}", log=x.log)
                assert served_serial(x, zones[1]) == live.serial(zones[1])
            assert "catalog.invalid" in consumers[1].log()
        text = live.log()
        assert "ERROR: AddressSanitizer" not in text and "runtime error:" not in text


def test_catalog_heals_at_restart(tmp_path):
    """Zones made while the catalog was off join it at the next start; zones deleted meanwhile
    leave it; an id stays the same across restarts."""
    work = tmp_path / "ensign"
    with livelib.Live(work) as live:
        live.create("a.heal.example.")
        live.create("b.heal.example.")
    extra = ["--catalog", CATALOG]
    with livelib.Live(work, extra=extra) as live:
        live.req("POST", TSIGKEYS, json={"name": xfrlib.KEY_NAME, "algorithm": xfrlib.KEY_ALG,
                                         "key": xfrlib.KEY_SECRET})
        put_meta(live, CATALOG, "TSIG-ALLOW-AXFR", [xfrlib.KEY_NAME])
        first = catalog_members(live)
        assert set(first) == {"a.heal.example.", "b.heal.example."}, first
    with livelib.Live(work) as live:
        r = live.req("DELETE", f"{livelib.ZONES}/a.heal.example.")
        assert r.status_code == 204, r.text
    with livelib.Live(work, extra=extra) as live:
        assert catalog_members(live) == {"b.heal.example.": first["b.heal.example."]}
