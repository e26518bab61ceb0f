#!/usr/bin/env python3
"""A zone of N names and a dnsperf query file for it, both deterministic.

Usage: bench/gen_zone.py NAMES ZONE_OUT [QUERIES_OUT [QUERIES [NX_PERCENT]]]

The zone is the one bench/sign.sh signs: origin example., every 50th name a delegation
(NS + glue + DS), the others with A, AAAA, MX and TXT records. The query file (dnsperf's
"NAME TYPE" lines, QUERIES lines, default 200000) mixes hits on existing names and types
(A, AAAA, MX, TXT at hosts; DS at delegations, which the parent answers) with NX_PERCENT
(default 25) queries for names that do not exist (h<N+k>.example. and random labels), which a
signed zone answers with NXDOMAIN and its denial proof. Only the Python standard library."""
import random
import sys


def write_zone(names, path):
    with open(path, "w") as f:
        f.write("$ORIGIN example.\n$TTL 3600\n")
        f.write("@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\n")
        f.write("ns1 A 192.0.2.1\nns2 AAAA 2001:db8::2\n")
        for i in range(names):
            if i % 50 == 0:
                f.write(f"d{i} NS ns.d{i}\nd{i} DS {i % 65536} 13 2 {i:064x}\n"
                        f"ns.d{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
            else:
                name = f"h{i}"
                f.write(f"{name} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
                        f"{name} AAAA 2001:db8::{i >> 16:x}:{i & 0xffff:x}\n"
                        f"{name} MX 10 mail{i % 97}\n"
                        f'{name} TXT "v=record {i}" "second string"\n')


def write_queries(names, path, count, nx_percent):
    rng = random.Random(names)
    with open(path, "w") as f:
        for _ in range(count):
            if rng.randrange(100) < nx_percent:
                if rng.random() < 0.5:
                    f.write(f"h{names + rng.randrange(names)}.example. A\n")
                else:
                    label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
                    f.write(f"{label}.example. {rng.choice(['A', 'AAAA', 'TXT'])}\n")
                continue
            i = rng.randrange(names)
            if i % 50 == 0:
                f.write(f"d{i}.example. DS\n")
            else:
                f.write(f"h{i}.example. {rng.choice(['A', 'A', 'AAAA', 'MX', 'TXT'])}\n")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    names = int(sys.argv[1])
    write_zone(names, sys.argv[2])
    if len(sys.argv) > 3:
        count = int(sys.argv[4]) if len(sys.argv) > 4 else 200000
        nx = int(sys.argv[5]) if len(sys.argv) > 5 else 25
        write_queries(names, sys.argv[3], count, nx)


if __name__ == "__main__":
    main()
