"""`ensign serve` on the network: UDP and TCP answers, RFC 7766 connection handling (pipelining,
idle timeout, connection limit, slow readers), reload on SIGHUP without failed queries, many
clients, IPv6, command-line errors and clean exits. Only 127.0.0.1 and ::1 are used."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import servelib
from servelib import ADDR, ENSIGN, Ensign, free_port

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "serve")
ZONE = os.path.join(DATA, "example.com.zone")
BIG_TXT = 40  # TXT records at big.example.com.


def zone_copy(tmp_path, serial=1):
    """The test zone in tmp_path with the given SOA serial."""
    with open(ZONE) as f:
        text = f.read()
    path = tmp_path / "example.com.zone"
    path.write_text(text.replace("hostmaster 1 ", f"hostmaster {serial} "))
    return str(path)


def serial_of(resp):
    for rrset in resp.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    raise AssertionError(f"no SOA in answer: {resp}")


def frame(msg):
    wire = msg.to_wire()
    return struct.pack("!H", len(wire)) + wire


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_msg(sock):
    (length,) = struct.unpack("!H", recv_exact(sock, 2))
    return dns.message.from_wire(recv_exact(sock, length))


def tcp_connect(port, addr=ADDR, timeout=5.0):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def tcp_ask(sock, qname, qtype="SOA"):
    q = dns.message.make_query(qname, qtype)
    sock.sendall(frame(q))
    r = recv_msg(sock)
    assert r.id == q.id
    return r


def is_closed(sock, timeout=5.0):
    """True when the server closed the connection (EOF or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def run_serve(args, timeout=30):
    """`ensign serve ARGS` expected to exit by itself (an error); a sanitizer report or a leak on
    the way out fails the test."""
    r = subprocess.run([ENSIGN, "serve"] + args, capture_output=True, text=True, timeout=timeout)
    assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r.stderr
    return r


def test_udp_and_tcp_answer_soa_at_apex_and_refuse_other_names(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path)) as srv:
        q = dns.message.make_query("example.com", "SOA")
        for ask in (dns.query.udp, dns.query.tcp):
            r = ask(q, ADDR, port=srv.port, timeout=5)
            assert r.rcode() == dns.rcode.NOERROR
            assert r.flags & dns.flags.AA
            assert serial_of(r) == 1
        out = dns.message.make_query("example.org", "SOA")
        for ask in (dns.query.udp, dns.query.tcp):
            assert ask(out, ADDR, port=srv.port, timeout=5).rcode() == dns.rcode.REFUSED
        assert f"server.listening address={ADDR}:{srv.port} transport=udp,tcp" in srv.log()


def test_tcp_pipelined_queries_in_one_write_all_answered(tmp_path):
    names = ["example.com", "www.example.com", "ns1.example.com", "big.example.com"]
    types = ["SOA", "A", "A", "TXT"]
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path)) as srv:
        queries = {}
        data = b""
        for i in range(20):
            q = dns.message.make_query(names[i % 4], types[i % 4])
            q.id = 1000 + i
            queries[q.id] = q
            data += frame(q)
        with tcp_connect(srv.port) as s:
            s.sendall(data)  # one write: 20 queries
            got = {}
            for _ in range(20):
                r = recv_msg(s)
                assert r.id in queries and r.id not in got
                got[r.id] = r
        for qid, q in queries.items():
            r = got[qid]
            assert r.question == q.question
            assert r.rcode() == dns.rcode.NOERROR
            if q.question[0].rdtype == dns.rdatatype.TXT:
                assert len(r.answer[0]) == BIG_TXT


def test_tcp_pipelined_answers_larger_than_the_output_buffer_all_arrive(tmp_path):
    # 100 answers of about 8 KB each: far more than a connection buffers, so the server has to
    # stop and resume answering what it has already read.
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path), threads=1) as srv:
        with tcp_connect(srv.port, timeout=10) as s:
            qs = [dns.message.make_query("big.example.com", "TXT") for _ in range(100)]
            s.sendall(b"".join(frame(q) for q in qs))
            time.sleep(0.3)  # let the socket buffers fill before reading
            ids = [recv_msg(s).id for _ in qs]
            assert sorted(ids) == sorted(q.id for q in qs)


def test_tcp_query_written_byte_by_byte_is_answered(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path)) as srv:
        with tcp_connect(srv.port) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            q = dns.message.make_query("www.example.com", "A")
            for b in frame(q):
                s.sendall(bytes([b]))
                time.sleep(0.002)
            r = recv_msg(s)
            assert r.id == q.id and r.rcode() == dns.rcode.NOERROR


def test_tcp_half_close_still_gets_every_answer(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path)) as srv:
        with tcp_connect(srv.port) as s:
            qs = [dns.message.make_query("big.example.com", "TXT") for _ in range(10)]
            s.sendall(b"".join(frame(q) for q in qs))
            s.shutdown(socket.SHUT_WR)
            ids = {recv_msg(s).id for _ in qs}
            assert ids == {q.id for q in qs}
            assert is_closed(s)


def test_truncated_udp_answer_is_complete_over_tcp(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path)) as srv:
        q = dns.message.make_query("big.example.com", "TXT")  # no EDNS: 512 bytes at most
        r = dns.query.udp(q, ADDR, port=srv.port, timeout=5)
        assert r.flags & dns.flags.TC
        qe = dns.message.make_query("big.example.com", "TXT", use_edns=0, payload=4096)
        r = dns.query.udp(qe, ADDR, port=srv.port, timeout=5, ignore_trailing=True)
        assert r.flags & dns.flags.TC  # 8 KB does not fit in the 1232 bytes we send at most
        r = dns.query.tcp(q, ADDR, port=srv.port, timeout=5)
        assert not r.flags & dns.flags.TC
        assert len(r.answer) == 1 and len(r.answer[0]) == BIG_TXT


def test_edns_max_raises_the_udp_answer_size(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path),
                extra=["--edns-max", "16384"]) as srv:
        q = dns.message.make_query("big.example.com", "TXT", use_edns=0, payload=16384)
        r = dns.query.udp(q, ADDR, port=srv.port, timeout=5)
        assert not r.flags & dns.flags.TC
        assert len(r.answer[0]) == BIG_TXT


def test_idle_tcp_connection_is_closed_and_active_one_kept(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path),
                extra=["--tcp-idle-ms", "1000"]) as srv:
        idle = tcp_connect(srv.port)
        active = tcp_connect(srv.port)
        tcp_ask(idle, "example.com")
        start = time.monotonic()
        while time.monotonic() - start < 2.5:
            tcp_ask(active, "example.com")
            time.sleep(0.1)
        assert is_closed(idle, timeout=5)
        tcp_ask(active, "www.example.com", "A")
        idle.close()
        active.close()


def test_connection_limit_closes_the_least_recently_active(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path), threads=1,
                extra=["--tcp-max-clients", "4"]) as srv:
        conns = [tcp_connect(srv.port) for _ in range(4)]
        for c in conns:
            tcp_ask(c, "example.com")
        newest = tcp_connect(srv.port)
        tcp_ask(newest, "example.com")
        assert is_closed(conns[0])
        for c in conns[1:]:
            tcp_ask(c, "www.example.com", "A")
        for c in conns + [newest]:
            c.close()


def test_connection_limit_holds_with_several_workers(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path), threads=2,
                extra=["--tcp-max-clients", "3"]) as srv:
        conns = []
        for _ in range(8):
            c = tcp_connect(srv.port)
            try:
                tcp_ask(c, "example.com")
            except (EOFError, OSError):
                pass  # refused at the limit: closed at once
            conns.append(c)
        time.sleep(0.2)
        alive = [c for c in conns if not is_closed(c, timeout=0.2)]
        assert 1 <= len(alive) <= 3
        for c in conns:
            c.close()
        # The server takes new clients once it has seen the old ones go.
        deadline = time.monotonic() + 10
        while True:
            try:
                r = dns.query.tcp(dns.message.make_query("example.com", "SOA"), ADDR,
                                  port=srv.port, timeout=5)
                break
            except (EOFError, OSError):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert r.rcode() == dns.rcode.NOERROR


def test_slow_reader_does_not_block_other_clients(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path), threads=1) as srv:
        slow = tcp_connect(srv.port)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        q = frame(dns.message.make_query("big.example.com", "TXT"))
        slow.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 5
        burst = q * 500  # about 4 MB of answers that are never read
        while sent < len(burst) and time.monotonic() < deadline:
            try:
                sent += slow.send(burst[sent:])
            except BlockingIOError:
                time.sleep(0.01)
        for _ in range(20):
            r = dns.query.udp(dns.message.make_query("www.example.com", "A"), ADDR,
                              port=srv.port, timeout=5)
            assert r.rcode() == dns.rcode.NOERROR
            r = dns.query.tcp(dns.message.make_query("example.com", "SOA"), ADDR,
                              port=srv.port, timeout=5)
            assert serial_of(r) == 1
        slow.close()


def query_loop(port, stop, results):
    """Queries SOA alternately over UDP and TCP until stop is set, recording serials and
    failures."""
    i = 0
    while not stop.is_set():
        q = dns.message.make_query("example.com", "SOA")
        try:
            if i % 2:
                r = dns.query.tcp(q, ADDR, port=port, timeout=5)
            else:
                r = dns.query.udp(q, ADDR, port=port, timeout=5)
            results["serials"].append(serial_of(r))
        except Exception as e:  # noqa: BLE001 - every failure counts
            results["errors"].append(repr(e))
        i += 1


def wait_serial(port, serial, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = dns.query.udp(dns.message.make_query("example.com", "SOA"), ADDR, port=port,
                          timeout=3)
        if serial_of(r) == serial:
            return
        time.sleep(0.05)
    raise AssertionError(f"serial {serial} not served within {timeout} s")


def wait_log(srv, text, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in srv.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the log: {srv.log()}")


def test_sighup_reload_serves_new_serial_without_failed_queries(tmp_path):
    path = zone_copy(tmp_path, serial=1)
    with Ensign([("example.com", path)], workdir=str(tmp_path)) as srv:
        stop = threading.Event()
        results = {"serials": [], "errors": []}
        clients = [threading.Thread(target=query_loop, args=(srv.port, stop, results))
                   for _ in range(3)]
        for t in clients:
            t.start()
        try:
            time.sleep(0.3)
            for serial in (2, 3, 4):
                zone_copy(tmp_path, serial=serial)
                os.kill(srv.proc.pid, signal.SIGHUP)
                wait_serial(srv.port, serial)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in clients:
                t.join()
        assert results["errors"] == []
        assert len(results["serials"]) > 20
        assert set(results["serials"]) <= {1, 2, 3, 4}
        assert re.search(r"zone.reloaded zone=example.com file=\S+ serial=4", srv.log())


def test_sighup_with_broken_zone_keeps_the_old_version(tmp_path):
    path = zone_copy(tmp_path, serial=7)
    with Ensign([("example.com", path)], workdir=str(tmp_path)) as srv:
        with open(path, "a") as f:
            f.write("bad IN A 300.1.2.3\n")
        os.kill(srv.proc.pid, signal.SIGHUP)
        wait_log(srv, "zone.reload-failed zone=example.com")
        assert f"{path}:" in srv.log()  # the loader's file:line:col message
        r = dns.query.udp(dns.message.make_query("example.com", "SOA"), ADDR, port=srv.port,
                          timeout=5)
        assert serial_of(r) == 7


def test_many_concurrent_clients(tmp_path):
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path), threads=2) as srv:
        errors = []

        def client(k):
            try:
                with tcp_connect(srv.port, timeout=10) as s:
                    for _ in range(5):
                        assert serial_of(tcp_ask(s, "example.com")) == 1
                for _ in range(5):
                    q = dns.message.make_query("www.example.com", "A")
                    r = dns.query.udp(q, ADDR, port=srv.port, timeout=5)
                    assert r.rcode() == dns.rcode.NOERROR and r.id == q.id
            except Exception as e:  # noqa: BLE001
                errors.append(f"client {k}: {e!r}")

        threads = [threading.Thread(target=client, args=(k,)) for k in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def free_port6():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as t:
        t.bind(("::1", 0))
        return t.getsockname()[1]


def test_ipv6_loopback_listen(tmp_path):
    port6 = free_port6()
    with Ensign([("example.com", ZONE)], workdir=str(tmp_path),
                extra=["--listen", f"[::1]:{port6}"]) as srv:
        q = dns.message.make_query("example.com", "SOA")
        assert serial_of(dns.query.udp(q, "::1", port=port6, timeout=5)) == 1
        assert serial_of(dns.query.tcp(q, "::1", port=port6, timeout=5)) == 1
        assert f"server.listening address=[::1]:{port6} transport=udp,tcp" in srv.log()


@pytest.mark.parametrize("args, message", [
    (["--listen", "localhost:53"], "not a numeric"),
    (["--listen", "127.0.0.1:99999"], "port"),
    (["--listen", "[::1"], "']'"),
    (["--listen"], "needs a value"),
    (["--zone", "example.com"], "NAME=FILE"),
    (["--zone", "=x.zone"], "NAME=FILE"),
    (["--zone", "a..b=x.zone"], "bad zone name"),
    (["--zone", f"example.com={ZONE}", "--zone", f"example.com.={ZONE}"], "given twice"),
    (["--threads", "0"], "--threads"),
    (["--edns-max", "100"], "--edns-max"),
    (["--tcp-idle-ms", "-5"], "--tcp-idle-ms"),
    (["--tcp-max-clients", "x"], "--tcp-max-clients"),
    (["--api-listen", f"{ADDR}:8053"], "needs --data"),
    (["--root-hints", "192.0.2.1:99999"], "--root-hints"),
    (["--root-hints", "192.0.2.1,,192.0.2.2"], "--root-hints"),
    (["--root-hints", "root.example"], "--root-hints"),
    (["--query-port", "0"], "--query-port"),
    (["--frobnicate"], "unknown option"),
    (["stray"], "unknown argument"),
])
def test_bad_arguments_exit_2_with_a_message(args, message):
    r = run_serve(args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr


def test_zone_with_errors_refuses_to_start(tmp_path):
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hm 1 1 1 1 1\n@ NS ns1\n"
                   "ns1 A 192.0.2.1\nx A 300.1.2.3\n")
    r = run_serve(["--listen", f"{ADDR}:{free_port()}", "--zone", f"example.com={bad}"])
    assert r.returncode == 1
    assert f"{bad}:6:" in r.stderr
    missing = tmp_path / "missing.zone"
    r = run_serve(["--listen", f"{ADDR}:{free_port()}", "--zone", f"example.com={missing}"])
    assert r.returncode == 1
    assert str(missing) in r.stderr


def test_port_in_use_exits_1_naming_the_address(tmp_path):
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        t.bind((ADDR, port))
        t.listen()
        r = run_serve(["--listen", f"{ADDR}:{port}", "--zone", f"example.com={ZONE}"])
    assert r.returncode == 1
    assert f"{ADDR}:{port}" in r.stderr
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind((ADDR, port))
        r = run_serve(["--listen", f"{ADDR}:{port}", "--zone", f"example.com={ZONE}"])
    assert r.returncode == 1
    assert f"{ADDR}:{port}" in r.stderr and "udp" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_with_connections_open(tmp_path, sig):
    srv = Ensign([("example.com", ZONE)], workdir=str(tmp_path)).start()
    try:
        conns = [tcp_connect(srv.port) for _ in range(5)]
        tcp_ask(conns[0], "example.com")
        conns[1].sendall(b"\x00\x40\x01\x02")  # a query cut short
        os.kill(srv.proc.pid, sig)
        assert srv.proc.wait(timeout=20) == 0
        for c in conns:
            c.close()
    finally:
        srv.stop()
    assert "ERROR: AddressSanitizer" not in srv.log()


def test_no_leaks_at_exit_after_reloads_and_traffic(tmp_path, monkeypatch):
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=23")
    path = zone_copy(tmp_path, serial=1)
    with Ensign([("example.com", path)], workdir=str(tmp_path)) as srv:
        keep = tcp_connect(srv.port)
        tcp_ask(keep, "big.example.com", "TXT")
        zone_copy(tmp_path, serial=2)
        os.kill(srv.proc.pid, signal.SIGHUP)
        wait_serial(srv.port, 2)
        with open(path, "a") as f:
            f.write("bad IN A 300.1.2.3\n")
        os.kill(srv.proc.pid, signal.SIGHUP)
        wait_log(srv, "zone.reload-failed zone=example.com")
        dns.query.udp(dns.message.make_query("example.org", "SOA"), ADDR, port=srv.port,
                      timeout=5)
    # Ensign's exit checks the status (23 on a leak) and the sanitizer reports.
    keep.close()
    assert "LeakSanitizer" not in srv.log()


def test_no_zones_refuses_every_query(tmp_path):
    port = free_port()
    proc = subprocess.Popen([ENSIGN, "serve", "--listen", f"{ADDR}:{port}", "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        servelib.wait_answer(port, "example.com", proc=proc)
        r = dns.query.udp(dns.message.make_query("example.com", "SOA"), ADDR, port=port,
                          timeout=5)
        assert r.rcode() == dns.rcode.REFUSED
    finally:
        assert servelib.stop(proc) == 0


def test_zone_file_path_with_equals_sign(tmp_path):
    d = tmp_path / "a=b"
    d.mkdir()
    path = d / "example.com.zone"
    shutil.copy(ZONE, path)
    with Ensign([("example.com", str(path))], workdir=str(tmp_path)) as srv:
        r = dns.query.udp(dns.message.make_query("example.com", "SOA"), ADDR, port=srv.port,
                          timeout=5)
        assert serial_of(r) == 1
