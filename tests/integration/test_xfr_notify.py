"""NOTIFY out (RFC 1996) and AUTO-NS, judged by listening sockets the test holds on loopback
addresses and by dnspython:
  - a Master zone notifies its NS targets (`--notify-port`): the one whose address the zone holds
    (127.0.0.21) and the one outside it (localhost., looked up by the notifier: 127.0.0.1), but
    not the SOA MNAME's (127.0.0.22), and its ALSO-NOTIFY address with the port given; each
    NOTIFY carries the question and the SOA of the new serial, has AA, and is signed with the
    zone's first TSIG-ALLOW-AXFR key (dnspython checks the MAC);
  - a target that does not answer gets the NOTIFY again (a new ID, same serial) until it does;
    its answer shows in the zone's secondaries (via notify) and in the counters;
  - a Native zone notifies ALSO-NOTIFY only; PUT .../notify sends again at once;
  - AUTO-NS lets the NS targets' addresses transfer: in the zone and looked up, no other."""
import socket
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.xfr

import livelib
import servelib
import xfrlib

TSIGKEYS = "/api/v1/servers/localhost/tsigkeys"


class Listener:
    """A UDP socket on addr:port that reads NOTIFY messages (checking their TSIG with the
    keyring) and answers them when told to."""

    def __init__(self, addr, port, keyring=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((addr, port))
        self.keyring = keyring

    def take(self, timeout=15.0):
        """The next NOTIFY (message, sender), or None after timeout."""
        self.s.settimeout(timeout)
        try:
            wire, peer = self.s.recvfrom(65535)
        except socket.timeout:
            return None
        return dns.message.from_wire(wire, keyring=self.keyring), peer

    def answer(self, m, peer):
        r = dns.message.make_response(m)
        r.flags |= dns.flags.AA
        self.s.sendto(r.to_wire(), peer)

    def take_serial(self, serial, timeout=15.0):
        """The next NOTIFY for serial (earlier ones, sent before it was made, are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.take(max(0.05, deadline - time.monotonic()))
            if got is None:
                return None
            m, peer = got
            if m.answer and m.answer[0][0].serial == serial:
                return m, peer
        return None

    def quiet(self, wait=0.3):
        return self.take(wait) is None

    def close(self):
        self.s.close()


def meta(live, zone, kind, values):
    r = live.req("PUT", f"{livelib.ZONES}/{zone}/metadata/{kind}", json={"metadata": values})
    assert r.status_code == 200, r.text


def check_notify(m, zone, serial):
    assert m.opcode() == dns.opcode.NOTIFY and m.flags & dns.flags.AA
    assert m.question[0].name == dns.name.from_text(zone)
    assert m.question[0].rdtype == dns.rdatatype.SOA
    assert m.answer and m.answer[0][0].serial == serial


def test_notify_targets_retries_and_secondaries(tmp_path):
    port = servelib.free_port("127.0.0.1", "127.0.0.21", "127.0.0.22")
    also = servelib.free_port("127.0.0.23")
    ring = xfrlib.keyring()
    listeners = {a: Listener(a, port, ring) for a in ("127.0.0.1", "127.0.0.21", "127.0.0.22")}
    listeners["also"] = Listener("127.0.0.23", also, ring)
    zone = "primary.example."
    try:
        with livelib.Live(tmp_path / "ensign", extra=["--notify-port", str(port)]) as live:
            r = live.req("POST", TSIGKEYS, json={"name": xfrlib.KEY_NAME,
                                                 "algorithm": xfrlib.KEY_ALG,
                                                 "key": xfrlib.KEY_SECRET})
            assert r.status_code == 201, r.text
            text = "\n".join([
                "@ 3600 IN SOA ns0 hostmaster 1 3600 600 86400 300",
                "@ 3600 IN NS ns0", "@ 3600 IN NS ns1", "@ 3600 IN NS localhost.",
                "ns0 3600 IN A 127.0.0.22", "ns1 3600 IN A 127.0.0.21"]) + "\n"
            r = live.req("POST", livelib.ZONES, json={"name": zone, "kind": "Master",
                                                      "zone": text})
            assert r.status_code == 201, r.text
            meta(live, zone, "TSIG-ALLOW-AXFR", [xfrlib.KEY_NAME])
            meta(live, zone, "ALSO-NOTIFY", [f"127.0.0.23:{also}"])
            sent0 = livelib.metric(live.metrics(), "ensign_notify_sent_total")
            serial = live.patch_ok(zone, [{"name": f"www.{zone}", "type": "A", "ttl": 60,
                                           "changetype": "REPLACE",
                                           "records": [{"content": "192.0.2.7"}]}])
            got = {}
            for a in ("127.0.0.21", "127.0.0.1", "also"):
                got_one = listeners[a].take_serial(serial)
                assert got_one is not None, f"no NOTIFY at {a}"
                m, peer = got_one
                assert m.had_tsig and m.keyname == dns.name.from_text(xfrlib.KEY_NAME)
                check_notify(m, zone, serial)
                got[a] = (m, peer)
            assert listeners["127.0.0.22"].quiet(), "the SOA MNAME was notified"
            # answered at once by two; the third answers the second try only
            listeners["127.0.0.21"].answer(*got["127.0.0.21"])
            listeners["also"].answer(*got["also"])
            m2, peer2 = listeners["127.0.0.1"].take_serial(serial)
            check_notify(m2, zone, serial)
            assert m2.id != got["127.0.0.1"][0].id
            listeners["127.0.0.1"].answer(m2, peer2)
            deadline = time.monotonic() + 20
            while True:
                mt = live.metrics()
                if livelib.metric(mt, "ensign_notify_answered_total",
                                  result="acknowledged") >= 3:
                    break
                assert time.monotonic() < deadline, mt
                time.sleep(0.05)
            assert livelib.metric(mt, "ensign_notify_sent_total") >= sent0 + 4
            st = live.req("GET", f"{livelib.ZONES}/{zone}", params={"rrsets": "false"}).json()
            seen = {e["address"]: e for e in st["secondaries"]}
            for a in ("127.0.0.21", "127.0.0.1", "127.0.0.23"):
                assert seen[a]["serial"] == serial and seen[a]["via"] == "notify", seen
            # nothing more for the ones that answered
            assert listeners["127.0.0.21"].quiet(2.5)

            # Native: ALSO-NOTIFY only; PUT .../notify sends again at once
            r = live.req("PUT", f"{livelib.ZONES}/{zone}", json={"kind": "Native"})
            assert r.status_code == 204, r.text
            for lst in listeners.values():  # what the kind change itself sent
                while not lst.quiet(1.0):
                    pass
            r = live.req("PUT", f"{livelib.ZONES}/{zone}/notify")
            assert r.status_code == 200 and r.json()["result"] == "Notification queued"
            got_one = listeners["also"].take_serial(live.serial(zone))
            assert got_one is not None
            m, peer = got_one
            listeners["also"].answer(m, peer)
            assert listeners["127.0.0.21"].quiet(1.0)
            r = live.req("PUT", f"{livelib.ZONES}/nowhere.example./notify")
            assert r.status_code == 404
    finally:
        for lst in listeners.values():
            lst.close()


def test_auto_ns_allows_the_name_servers(tmp_path):
    zone = "autons.example."
    with livelib.Live(tmp_path / "ensign") as live:
        text = "\n".join(["@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300",
                          "@ 3600 IN NS ns1", "@ 3600 IN NS localhost.",
                          "ns1 3600 IN A 127.0.0.31"]) + "\n"
        r = live.req("POST", livelib.ZONES, json={"name": zone, "kind": "Native", "zone": text})
        assert r.status_code == 201, r.text
        meta(live, zone, "ALLOW-AXFR-FROM", ["AUTO-NS"])

        def axfr(source):
            try:
                return len(list(dns.query.xfr(xfrlib.ADDR, zone, port=live.port,
                                              source=source, lifetime=10)))
            except dns.xfr.TransferError as e:
                return e.rcode

        assert axfr("127.0.0.31") == 1
        assert axfr("127.0.0.32") == dns.rcode.REFUSED
        # localhost. is looked up by the notifier thread when a version is published
        live.patch_ok(zone, [{"name": f"x.{zone}", "type": "TXT", "ttl": 60,
                              "changetype": "REPLACE", "records": [{"content": '"x"'}]}])
        deadline = time.monotonic() + 20
        while axfr("127.0.0.1") != 1:
            assert time.monotonic() < deadline, "localhost. never allowed"
            time.sleep(0.05)
