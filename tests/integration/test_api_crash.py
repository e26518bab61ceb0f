"""`ensign serve` killed with SIGKILL while many API clients write: eight threads PATCH the same
zone, each PATCH either one new TXT RRset or a batch of several RRsets (new TXT RRsets plus a
REPLACE of the thread's own "last" RRset) that must appear all or nothing. After the kill the
server is started again on the same data directory and, through the API and through DNS, every
acknowledged (204) change must be there, every batch complete or entirely absent, and the SOA
serial the same in the store and in DNS answers, above every serial an acknowledgement reported
and increased at least once per acknowledged change. Three rounds on the same directory."""
import os
import random
import signal
import subprocess
import threading
import time

import dns.message
import dns.query
import dns.rcode
import requests

import servelib

KEY = "crash-admin-key"
ZONE = "crash.test."
ZONES = "/api/v1/servers/localhost/zones"
THREADS = 8
ROUNDS = 3
BATCH = 3


class Server:
    """`ensign serve --data DIR` started directly so that it can be killed with SIGKILL."""

    def __init__(self, work, data, n):
        self.dns_port = servelib.free_port()
        self.api_port = servelib.free_port()
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.log_path = os.path.join(work, f"serve-{n}.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [servelib.ENSIGN, "serve", "--listen", f"127.0.0.1:{self.dns_port}", "--threads", "2",
             "--data", str(data), "--api-listen", f"127.0.0.1:{self.api_port}", "--api-key", KEY,
             "--api-rate", "1000000"],
            stdout=subprocess.DEVNULL, stderr=self._log)
        servelib.wait_answer(self.dns_port, ".", proc=self.proc)
        servelib.wait_http(self.base + "/api")

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._log.close()
        assert self.proc.returncode == -signal.SIGKILL, self.log()
        self.check_log()

    def stop(self):
        status = servelib.stop(self.proc)
        self._log.close()
        self.check_log()
        assert status == 0, f"ensign serve exited with {status}: {self.log()}"

    def check_log(self):
        text = self.log()
        assert "ERROR: AddressSanitizer" not in text, text
        assert "runtime error:" not in text, text


def session():
    s = requests.Session()
    s.headers["X-API-Key"] = KEY
    return s


def txt(name, value, changetype="REPLACE"):
    return {"name": name, "type": "TXT", "ttl": 60, "changetype": changetype,
            "records": [{"content": f'"{value}"', "disabled": False}]}


class Writer(threading.Thread):
    """PATCHes until stopped; acked[i] is the reply's new serial for PATCH i, unknown the PATCHes
    whose outcome the client never learnt (the kill came first)."""

    def __init__(self, base, rnd, w, seed):
        super().__init__(daemon=True)
        self.base, self.rnd, self.w = base, rnd, w
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.sent = {}  # i -> list of (name, value) it writes (the last one: the "last" RRset)
        self.acked = {}  # i -> (old serial, new serial)
        self.unknown = set()
        self.refused = []  # (i, status, body) for any answer other than 204

    def names(self, i):
        stem = f"r{self.rnd}-w{self.w}-{i}"
        if i % 2 == 0:
            return [(f"s-{stem}.{ZONE}", f"v-{stem}")]
        out = [(f"b{k}-{stem}.{ZONE}", f"v{k}-{stem}") for k in range(BATCH)]
        out.append((f"last-r{self.rnd}-w{self.w}.{ZONE}", f"{i}"))
        return out

    def run(self):
        s = session()
        i = 0
        while not self.stop.is_set():
            pairs = self.names(i)
            self.sent[i] = pairs
            body = {"rrsets": [txt(n, v) for n, v in pairs]}
            try:
                r = s.patch(f"{self.base}{ZONES}/{ZONE}", json=body, timeout=20)
            except requests.RequestException:
                self.unknown.add(i)
                i += 1
                if self.stop.wait(0.01):
                    return
                continue
            if r.status_code == 204:
                self.acked[i] = (int(r.headers["X-PDNS-Old-Serial"]),
                                 int(r.headers["X-PDNS-New-Serial"]))
            else:
                self.refused.append((i, r.status_code, r.text))
            i += 1


def zone_state(srv):
    r = session().get(f"{srv.base}{ZONES}/{ZONE}", timeout=30)
    assert r.status_code == 200, r.text
    z = r.json()
    values = {}
    for rs in z["rrsets"]:
        if rs["type"] == "TXT":
            assert len(rs["records"]) == 1, rs
            values[rs["name"]] = rs["records"][0]["content"].strip('"')
    return z["serial"], values


def served_soa(srv):
    q = dns.message.make_query(ZONE, "SOA")
    a = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=10)
    assert a.rcode() == dns.rcode.NOERROR and a.answer, a
    return a.answer[0][0].serial


def served_txt(srv, name):
    q = dns.message.make_query(name, "TXT")
    a = dns.query.udp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    if a.flags & dns.flags.TC:
        a = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    if a.rcode() != dns.rcode.NOERROR or not a.answer:
        return None
    return b"".join(a.answer[0][0].strings).decode()


def test_acknowledged_patches_survive_sigkill(tmp_path):
    data = tmp_path / "data"
    rng = random.Random(int(os.environ.get("API_CRASH_SEED", "1")))
    srv = Server(tmp_path, data, 0)
    r = session().post(srv.base + ZONES, json={
        "name": ZONE, "kind": "Native", "nameservers": [f"ns1.{ZONE}"],
        "rrsets": [{"name": f"ns1.{ZONE}", "type": "A", "ttl": 3600,
                    "records": [{"content": "192.0.2.53", "disabled": False}]}]}, timeout=30)
    assert r.status_code == 201, r.text
    first_serial, _ = zone_state(srv)
    writers = []  # every writer of every round
    total_acked = 0
    started = time.monotonic()
    for rnd in range(ROUNDS):
        ws = [Writer(srv.base, rnd, w, rng.random()) for w in range(THREADS)]
        for w in ws:
            w.start()
        time.sleep(rng.uniform(2.0, 4.0))
        srv.kill()
        for w in ws:
            w.stop.set()
        for w in ws:
            w.join(timeout=60)
            assert not w.is_alive()
        writers += ws
        round_acked = sum(len(w.acked) for w in ws)
        assert round_acked > 0, "no PATCH was acknowledged before the kill"
        total_acked += round_acked

        print(f"round {rnd}: {round_acked} acknowledged, "
              f"{sum(len(w.unknown) for w in ws)} unanswered")
        srv = Server(tmp_path, data, rnd + 1)
        store_serial, values = zone_state(srv)
        assert served_soa(srv) == store_serial
        problems = []
        for w in writers:
            for i, st, body in w.refused:
                problems.append(f"round {w.rnd} writer {w.w} PATCH {i}: HTTP {st} {body[:200]}")
            for i, pairs in w.sent.items():
                # The thread's "last" RRset is checked below; the rest: all or nothing.
                own = pairs if len(pairs) == 1 else pairs[:-1]
                present = [values.get(n) == v for n, v in own]
                if i in w.acked:
                    if not all(present):
                        problems.append(f"round {w.rnd} writer {w.w}: acknowledged PATCH {i} "
                                        f"lost: {[n for (n, _), p in zip(own, present) if not p]}")
                    if w.acked[i][1] > store_serial:
                        problems.append(f"acknowledged serial {w.acked[i][1]} above the stored "
                                        f"serial {store_serial}")
                elif any(present) and not all(present):
                    problems.append(f"round {w.rnd} writer {w.w}: PATCH {i} half applied: "
                                    f"{list(zip([n for n, _ in own], present))}")
                elif any(present) and i not in w.unknown:
                    problems.append(f"round {w.rnd} writer {w.w}: PATCH {i} there but refused")
            batches = [i for i in w.sent if i % 2 == 1]
            acked_batches = [i for i in batches if i in w.acked]
            if acked_batches:
                last = values.get(f"last-r{w.rnd}-w{w.w}.{ZONE}")
                newest = max(acked_batches)
                allowed = {str(newest)} | {str(i) for i in batches if i > newest and
                                           i in w.unknown}
                if last not in allowed:
                    problems.append(f"round {w.rnd} writer {w.w}: last RRset {last!r}, "
                                    f"expected one of {sorted(allowed)}")
        # Each acknowledged change reported its own, strictly higher serial.
        new_serials = [n for w in writers for (o, n) in w.acked.values()]
        assert all(n > o for w in writers for (o, n) in w.acked.values())
        assert len(set(new_serials)) == len(new_serials), "two changes acknowledged one serial"
        assert store_serial - first_serial >= total_acked, (store_serial, first_serial,
                                                            total_acked)
        # What the API lists, DNS serves (a sample of the acknowledged names, every round's).
        sample = [(n, v) for w in writers for i in w.acked for n, v in w.sent[i][:BATCH]]
        for n, v in random.Random(rnd).sample(sample, min(200, len(sample))):
            if values.get(n) == v:
                got = served_txt(srv, n)
                if got != v:
                    problems.append(f"{n}: the API lists {v!r}, DNS serves {got!r}")
        assert not problems, "\n".join(problems[:40])
    srv.stop()
    assert time.monotonic() - started < 120
