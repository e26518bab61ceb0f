"""`ensign serve --config FILE`: the YAML configuration file.

Bad files are refused with FILE:LINE:COL: and the setting named (each defect of the table below,
at the line and column where it is); the flags override the file (a list flag replaces the
whole list); the shipped dist/ensign.conf passes --check; SIGHUP applies what can change live
(log level and format, the API's rate and body limit), logs every other change as needing a
restart, and refuses a file with an error (logged with its position) keeping the settings in
force."""
import os
import signal
import subprocess
import textwrap

import pytest
import requests

import opslib
import servelib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def check(path, *flags):
    return subprocess.run([opslib.ENSIGN, "serve", "--config", str(path), "--check", *flags],
                          capture_output=True, text=True, timeout=60)


def write(path, text):
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return str(path)


BAD = [
    # (file text, line, column, words the message must have)
    ("server:\n  listen: [127.0.0.1:5300]\n  thread: 4\n", 3, 3,
     ["server.thread", "unknown key", "threads"]),
    ("server:\n  threads: 0\n", 2, 12, ["server.threads", "from 1 to 256", "'0'"]),
    ("server:\n  threads: many\n", 2, 12, ["server.threads", "a number"]),
    ("signing:\n  validity: 3x\n", 2, 13, ["signing.validity", "duration"]),
    ("api:\n  rate: 10\n  rate: 20\n", 3, 3, ["'rate' is given twice"]),
    ("servers:\n  listen: 127.0.0.1\n", 1, 1, ["unknown section 'servers'"]),
    ("server:\n  listen: 256.0.0.1:53\n", 2, 11, ["server.listen"]),
    ("server:\n  listen: [127.0.0.1:53, nonsense]\n", 2, 26, ["server.listen"]),
    ("log:\n  level: loud\n", 2, 10, ["log.level", "debug, info, warn or error"]),
    ("log:\n  format: [json]\n", 2, 11, ["log.format", "one value"]),
    ("server: [1, 2]\n", 1, 9, ["server", "keys and values"]),
    ("zone:\n  - domain: a.example\n", 2, 5, ["zone", "domain and file"]),
    ("zone:\n  - domain: a.example\n    file: /x\n    type: primary\n", 4, 5,
     ["zone.type", "unknown key"]),
    ("server:\n  listen: [127.0.0.1:53\n", 3, 1, ["did not find expected"]),
    ("log:\n  level: info\n---\nlog:\n  level: debug\n", 4, 1, ["one document only"]),
    ("- a\n- b\n", 1, 1, ["sections"]),
]


@pytest.mark.parametrize("text,line,col,words", BAD)
def test_bad_files_are_refused_at_their_line_and_column(tmp_path, text, line, col, words):
    path = write(tmp_path / "bad.conf", text)
    p = check(path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"{path}:{line}:{col}: " in p.stderr, p.stderr
    for w in words:
        assert w in p.stderr, p.stderr


def test_cross_checks_and_key_file(tmp_path):
    key = opslib.write_secret(str(tmp_path / "key"), "k")
    path = write(tmp_path / "a.conf", f"""
        store:
          directory: {tmp_path}/data
        api:
          listen: 127.0.0.1:0
          key-file: {key}
        signing:
          validity: 1h
          refresh: 2h
        """)
    p = check(path)
    assert p.returncode == 2 and "signing.refresh" in p.stderr and "shorter" in p.stderr, p.stderr
    # a flag mends it; a key file others may read is named with its position
    p = check(path, "--sig-refresh", "30m")
    assert p.returncode == 0, p.stderr
    os.chmod(key, 0o640 | 0o004)
    p = check(path, "--sig-refresh", "30m")
    assert p.returncode == 1 and f"{path}:5:13: api.key-file" in p.stderr and "0644" in p.stderr
    # the API without a store
    p = check(write(tmp_path / "b.conf", "api:\n  listen: 127.0.0.1:0\n"))
    assert p.returncode == 2 and "store.directory" in p.stderr, p.stderr
    # an empty file is all defaults
    assert check(write(tmp_path / "c.conf", "# nothing\n")).returncode == 0


def test_the_shipped_configuration_passes_check(tmp_path):
    key = opslib.write_secret(str(tmp_path / "key"), "shipped-key")
    p = check(os.path.join(ROOT, "dist", "ensign.conf"), "--api-key-file", key)
    assert p.returncode == 0, p.stderr
    assert "are valid" in p.stdout


def test_zone_files_of_the_file_are_checked(tmp_path):
    good = write(tmp_path / "good.zone", """
        $ORIGIN good.example.
        $TTL 300
        @ SOA ns admin 1 3600 900 604800 300
        @ NS ns
        ns A 192.0.2.1
        """)
    bad = write(tmp_path / "bad.zone", """
        $ORIGIN bad.example.
        $TTL 300
        @ SOA ns admin 1 3600 900 604800 300
        @ NS ns
        ns A 192.0.2.300
        """)
    conf = write(tmp_path / "z.conf", f"""
        zone:
          - domain: good.example
            file: {good}
          - domain: bad.example
            file: {bad}
        """)
    p = check(conf)
    assert p.returncode == 1 and f"{bad}:5:" in p.stderr and "bad.example" in p.stderr, p.stderr
    p = check(conf, "--zone", f"good.example={good}")
    assert p.returncode == 0 and "1 zone file " in p.stdout, p.stdout + p.stderr


class Daemon:
    """`ensign serve --config FILE [flags]`, its log in workdir; stopped by PID."""

    def __init__(self, workdir, conf, *flags):
        self.workdir = str(workdir)
        self.conf = conf
        self.flags = list(flags)
        self.log_path = os.path.join(self.workdir, "serve.log")

    def __enter__(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([opslib.ENSIGN, "serve", "--config", self.conf, *self.flags],
                                     stdout=subprocess.DEVNULL, stderr=self._log)
        return self

    def log(self):
        return servelib.read_log(self.log_path)

    def hup(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def __exit__(self, *exc):
        status = servelib.stop(self.proc)
        self._log.close()
        text = self.log()
        assert "ERROR: AddressSanitizer" not in text and "runtime error:" not in text, text
        assert status == 0, text


def test_flags_override_the_file_and_sighup_applies_what_it_can(tmp_path):
    key = opslib.write_secret(str(tmp_path / "key"), "reload-key")
    port_file, port_flag, api = (servelib.free_port() for _ in range(3))
    conf = str(tmp_path / "ensign.conf")

    def config(level, fmt, rate, listen, extra=""):
        write(conf, f"""
            server:
              listen: [127.0.0.1:{listen}]
              threads: 2
            store:
              directory: {tmp_path}/data
            api:
              listen: 127.0.0.1:{api}
              key-file: {key}
              rate: {rate}
            log:
              format: {fmt}
              level: {level}
            {extra}""")

    config("info", "json", 50, port_file)
    base = f"http://127.0.0.1:{api}"
    s = requests.Session()
    s.headers["X-API-Key"] = "reload-key"

    def rate():
        def get():
            r = s.get(base + "/api/v1/servers/localhost/config/webserver-rate-limit", timeout=30)
            assert r.status_code in (200, 429), r.text
            return r if r.status_code == 200 else None  # the bucket refills within a second
        return opslib.wait_for(get, "the rate setting", timeout=30).json()["value"]

    # --listen replaces the file's list; --api-rate beats the file's rate
    with Daemon(tmp_path, conf, "--listen", f"127.0.0.1:{port_flag}", "--api-rate", "500") as d:
        servelib.wait_http(base + "/api")
        servelib.wait_answer(port_flag, ".", proc=d.proc)
        assert rate() == "500"
        with pytest.raises(Exception):
            servelib.wait_answer(port_file, ".", timeout=1)
        lines = opslib.json_lines(d.log())
        st = opslib.events(lines, "daemon.settings")[0]
        assert st["listen"] == f"127.0.0.1:{port_flag}" and st["api_rate"] == 500
        assert st["config"] == conf
    with Daemon(tmp_path, conf) as d:
        servelib.wait_http(base + "/api")
        assert rate() == "50"
        # live: the level, the format and the rate; not live: the listen address
        config("debug", "text", 7, port_flag)
        d.hup()
        opslib.wait_for(lambda: "config.reloaded" in d.log(), "the reload")
        text = d.log()
        assert "setting=log.level" in text and "setting=api.rate" in text
        assert "setting=log.format" in text
        assert "config.restart-needed" in text and "setting=server.listen" in text
        assert rate() == "7"
        # text lines now; and at debug level: a request refused for the rate (7 a second now)
        # is logged at debug only
        line = [ln for ln in text.splitlines() if " config.reloaded " in ln][0]
        assert line.split()[1] == "info" and opslib.RFC3339.match(line.split()[0]), line
        codes = [s.get(base + "/api", timeout=30).status_code for _ in range(30)]
        assert 429 in codes, codes
        opslib.wait_for(lambda: " debug api.request " in d.log(), "a debug line")
        servelib.wait_answer(port_file, ".", proc=d.proc)  # still where it was
        # a broken file: refused, logged with its position, the settings in force kept
        config("debug", "text", 9, port_flag, extra="bogus: 1\n")
        d.hup()
        opslib.wait_for(lambda: "config.reload-failed" in d.log(), "the refused reload")
        line = [ln for ln in d.log().splitlines() if "config.reload-failed" in ln][0]
        assert f"{conf}:13:1: unknown section 'bogus'" in line, line
        assert line.split()[1] == "error", line
        assert rate() == "7"
        servelib.wait_answer(port_file, ".", proc=d.proc)
        # the reload also read the zone files again (none here) and nothing else moved
        assert "daemon.reload" in d.log()
