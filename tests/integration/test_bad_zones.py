#!/usr/bin/env python3
"""Every tests/data/bad/*.zone must be rejected by `ensign zone-check` with its expected first
error. The first line of each file is `; expect: LINE:COL: message`; the command must print
`<path>:LINE:COL: message` on stderr, exit with status 1 and not crash."""
import glob
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BAD_DIR = os.path.join(ROOT, "tests", "data", "bad")
PREFIX = b"; expect: "


def ensign_bin():
    path = os.environ.get("ENSIGN_BIN")
    if not path:
        raise AssertionError("ENSIGN_BIN is not set: it must name the ensign binary")
    if not os.access(path, os.X_OK):
        raise AssertionError("ENSIGN_BIN=%s is not an executable file" % path)
    return path


def expectation(path):
    with open(path, "rb") as f:
        first = f.readline().rstrip(b"\r\n")
    if not first.startswith(PREFIX):
        raise AssertionError("%s: first line must be '; expect: LINE:COL: message'" % path)
    return first[len(PREFIX):].decode("utf-8")


class BadZones(unittest.TestCase):
    def test_there_are_bad_zones(self):
        self.assertGreaterEqual(len(glob.glob(os.path.join(BAD_DIR, "*.zone"))), 35)

    def test_every_bad_zone_is_rejected_with_its_expected_error(self):
        binary = ensign_bin()
        files = sorted(glob.glob(os.path.join(BAD_DIR, "*.zone")))
        self.assertTrue(files, "no bad zones in %s" % BAD_DIR)
        failures = []
        for path in files:
            want = "%s:%s" % (path, expectation(path))
            try:
                proc = subprocess.run(
                    [binary, "zone-check", path, "--origin", "example."],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    timeout=60,
                )
            except subprocess.TimeoutExpired:
                failures.append("%s: zone-check timed out" % path)
                continue
            err = proc.stderr.decode("utf-8", "replace")
            lines = err.splitlines()
            if proc.returncode < 0 or proc.returncode in (134, 139):
                failures.append("%s: crashed with status %d\n%s" % (path, proc.returncode, err))
            elif proc.returncode != 1:
                failures.append("%s: exit status %d, want 1\n%s" % (path, proc.returncode, err))
            elif want not in lines:
                failures.append("%s: missing expected line\n  want: %s\n  got:\n%s"
                                % (path, want, err))
        self.assertFalse(failures, "\n".join(failures))


if __name__ == "__main__":
    sys.exit(unittest.main())
