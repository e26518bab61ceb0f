#!/bin/sh
# Installs the Debian 12 packages that building, running and testing ensign need.
# Idempotent: installs only what is missing. Used by `make run`, `make check` and .ci/run.
set -eu

BUILD="build-essential pkg-config clang libclang-rt-14-dev clang-format libssl-dev libcmocka-dev \
libsqlite3-dev liburcu-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libp11-kit-dev \
libyaml-dev"
TEST="python3 python3-pytest python3-dnspython python3-requests bind9-utils bind9-dnsutils \
ldnsutils knot-dnssecutils knot-dnsutils hyperfine time \
unbound knot nsd bind9 dnsperf python3-yaml chromium chromium-driver python3-selenium softhsm2 opensc"
# operations: promtool and a real prometheus (alert rules, metrics), the Debian package build
# and its checks (dpkg-shlibdeps, systemd-analyze, man pages, the service run by setpriv)
OPS="prometheus dpkg-dev systemd groff-base man-db adduser iproute2 util-linux"
# the real API clients the tests run: lego (pdns and rfc2136 providers) and certbot with its
# rfc2136 plugin against a local pebble ACME server, libcloud's PowerDNS driver, and node for
# the npm client (tests/clients, installed by scripts/clients.sh)
CLIENTS="lego pebble certbot python3-certbot-dns-rfc2136 python3-libcloud nodejs"
PKGS="$BUILD $TEST $OPS $CLIENTS"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# npm comes with some builds of nodejs (NodeSource's provide it and conflict with Debian's npm):
# the package is wanted only when the command is missing
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
