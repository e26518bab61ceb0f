"""python3-libcloud's PowerDNS driver (API v1), unchanged, runs the whole life cycle of a zone
against ensign: create the zone, list and get it (the driver reads kind, dnssec, account,
masters, serial, notified_serial and last_check from every zone object), create, list, update
and delete records, delete the zone. DNS (dnspython) answers what the driver did at each step."""
import dns.message
import dns.query
import dns.rcode
import pytest
from libcloud.dns.drivers.powerdns import PowerDNSDriver
from libcloud.dns.types import RecordType

import servelib

KEY = "libcloud-key"
ZONE = "libcloud.test"  # the driver takes the domain without its final dot


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("libcloud")
    with servelib.ApiServer(work, KEY) as srv:
        port = int(srv.base.rsplit(":", 1)[1])
        yield PowerDNSDriver(key=KEY, host="127.0.0.1", port=port, api_version="v1"), srv


def answer(srv, name, rdtype):
    q = dns.message.make_query(name, rdtype)
    r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=10)
    return r.rcode(), sorted(rd.to_text() for rrset in r.answer for rd in rrset)


def test_zone_and_record_life_cycle(env):
    d, srv = env
    zone = d.create_zone(ZONE, extra={"nameservers": [f"ns1.{ZONE}."]})
    assert zone.id == ZONE + "."
    assert answer(srv, ZONE + ".", "NS") == (dns.rcode.NOERROR, [f"ns1.{ZONE}."])

    listed = {z.id: z for z in d.list_zones()}
    assert set(listed) == {ZONE + "."}
    got = d.get_zone(ZONE + ".")
    assert got.domain == ZONE + "." and got.extra["kind"] == "Native"
    assert got.extra["last_check"] == 0 and got.extra["masters"] == []
    assert got.extra["dnssec"] is False and got.extra["serial"] >= 1

    www = f"www.{ZONE}."
    d.create_record(www, zone, RecordType.A, "192.0.2.1", extra={"ttl": 300})
    d.create_record(f"{ZONE}.", zone, RecordType.MX, f"10 mail.{ZONE}.", extra={"ttl": 3600})
    d.create_record(f"txt.{ZONE}.", zone, RecordType.TXT, '"v=spf1 -all"', extra={"ttl": 60})
    assert answer(srv, www, "A") == (dns.rcode.NOERROR, ["192.0.2.1"])
    assert answer(srv, ZONE + ".", "MX") == (dns.rcode.NOERROR, [f"10 mail.{ZONE}."])

    records = {(r.name, r.type): r for r in d.list_records(zone)}
    assert records[(www, "A")].data == "192.0.2.1" and records[(www, "A")].ttl == 300
    assert records[(f"txt.{ZONE}.", "TXT")].data == '"v=spf1 -all"'

    updated = d.update_record(records[(www, "A")], www, RecordType.A, "192.0.2.2",
                              extra={"ttl": 600})
    assert updated.data == "192.0.2.2"
    assert answer(srv, www, "A") == (dns.rcode.NOERROR, ["192.0.2.2"])
    records = {(r.name, r.type): r for r in d.list_records(zone)}
    assert records[(www, "A")].ttl == 600

    assert d.delete_record(records[(www, "A")]) is True
    assert answer(srv, www, "A")[0] == dns.rcode.NXDOMAIN
    assert (www, "A") not in {(r.name, r.type) for r in d.list_records(zone)}

    assert d.delete_zone(got) is True
    assert d.list_zones() == []
    assert answer(srv, www, "A")[0] == dns.rcode.REFUSED
