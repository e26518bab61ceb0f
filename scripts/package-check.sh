#!/bin/sh
# Checks the Debian package (make package-check, run by make check):
#  1. its contents: the program, the unit, the conffile, man pages, runbooks, monitoring;
#  2. unpacked into a scratch root: the program runs (ensign version), the man pages format
#     without warnings, the unit passes systemd-analyze verify, the shipped configuration file
#     is accepted by `ensign serve --config FILE --check`, the shipped rules pass promtool;
#  3. as root (CI runs as root on a fresh machine): installed for real with apt-get, the user,
#     key and data directory made by postinst checked, the installed unit verified, the service
#     run as the unit runs it (user ensign, CAP_NET_BIND_SERVICE only, the shipped
#     configuration) answering DNS on a port below 1024 and its API with the installed key;
#     then purged.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
version=$(sed -n 's/^#define ENS_CLI_VERSION "\(.*\)"/\1/p' src/cli/cli.h)
deb=$B/ensign_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { echo "package-check: $deb is missing (make deb)" >&2; exit 1; }
fail() { echo "package-check: $*" >&2; exit 1; }
work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# 1. contents
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/ensign ./lib/systemd/system/ensign.service ./etc/ensign/ensign.conf \
    ./usr/share/man/man1/ensign.1.gz ./usr/share/man/man5/ensign.conf.5.gz \
    ./usr/share/doc/ensign/runbooks/README.md ./usr/share/doc/ensign/monitoring/ensign_rules.yml \
    ./usr/share/doc/ensign/monitoring/grafana/ensign-dashboard.json; do
    echo "$contents" | grep -q " $f\$" || fail "$f is not in the package"
done
[ "$(dpkg-deb --field "$deb" Package)" = ensign ] || fail "package name"
[ "$(dpkg-deb --field "$deb" Version)" = "$version" ] || fail "package version"
dpkg-deb --field "$deb" Depends | grep -q libyaml || fail "Depends lacks libyaml"
dpkg-deb --info "$deb" conffiles | grep -qx /etc/ensign/ensign.conf || fail "conffiles"

# 2. a scratch root
root=$work/root
dpkg-deb -x "$deb" "$root"
out=$("$root/usr/bin/ensign" version)
[ "$out" = "ensign $version" ] || fail "ensign version said '$out'"
for m in man1/ensign.1.gz man5/ensign.conf.5.gz; do
    w=$(zcat "$root/usr/share/man/$m" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z 2>&1)
    [ -z "$w" ] || fail "$m: $w"
done
sed "s#/usr/bin/ensign#$root/usr/bin/ensign#g" "$root/lib/systemd/system/ensign.service" \
    > "$work/ensign.service"
MANPATH=$root/usr/share/man systemd-analyze verify "$work/ensign.service" || fail "systemd-analyze verify found problems"
umask 077
head -c 24 /dev/urandom | base64 > "$work/api-key"
"$root/usr/bin/ensign" serve --config "$root/etc/ensign/ensign.conf" --api-key-file "$work/api-key" \
    --check || fail "the shipped configuration is refused"
promtool check rules "$root/usr/share/doc/ensign/monitoring/ensign_rules.yml" >/dev/null ||
    fail "the installed rules do not parse"
(cd "$root/usr/share/doc/ensign/monitoring" && promtool test rules ensign_rules_test.yml >/dev/null) ||
    fail "the installed rules fail their tests"
grep -q 'runbook_url: file:///usr/share/doc/ensign/runbooks/' \
    "$root/usr/share/doc/ensign/monitoring/ensign_rules.yml" || fail "installed runbook URLs"
echo "package-check: $deb: contents, scratch root: ok"

# 3. installed for real (root only)
if [ "$(id -u)" -ne 0 ]; then
    echo "package-check: not root: the real installation was not tried"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=1200 install -y -q --no-install-recommends "./$deb" >/dev/null
purge() {
    apt-get -o DPkg::Lock::Timeout=1200 purge -y -q ensign >/dev/null 2>&1 || true
}
trap 'cleanup; purge' EXIT INT TERM
[ "$(/usr/bin/ensign version)" = "ensign $version" ] || fail "installed ensign version"
systemd-analyze verify /lib/systemd/system/ensign.service || fail "installed unit"
getent passwd ensign >/dev/null || fail "postinst made no user ensign"
[ "$(stat -c '%a %U %G' /etc/ensign/api-key)" = "640 root ensign" ] ||
    fail "/etc/ensign/api-key is $(stat -c '%a %U %G' /etc/ensign/api-key)"
[ "$(stat -c '%a %U' /var/lib/ensign)" = "700 ensign" ] ||
    fail "/var/lib/ensign is $(stat -c '%a %U' /var/lib/ensign)"
runuser -u ensign -- /usr/bin/ensign serve --config /etc/ensign/ensign.conf --check ||
    fail "the service's user cannot use the shipped configuration"
# under systemd the package started the real, sandboxed service on 127.0.0.1:53
if [ -d /run/systemd/system ]; then
    i=0
    until systemctl is-active --quiet ensign.service; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            if journalctl -u ensign.service --no-pager | grep -q 'Address already in use'; then
                echo "package-check: port 53 is taken here: the started service was not checked"
                break
            fi
            journalctl -u ensign.service --no-pager | tail -20 >&2
            fail "the service did not start under systemd"
        fi
        sleep 0.1
    done
    if systemctl is-active --quiet ensign.service; then
        dig +norec +time=2 +tries=3 @127.0.0.1 -p 53 example.invalid SOA | grep -q 'status: REFUSED' ||
            fail "the service started by systemd does not answer on 127.0.0.1:53"
        systemctl reload ensign.service || fail "systemctl reload"
        echo "package-check: the service runs under systemd, sandboxed, and answers on port 53"
        systemctl stop ensign.service
    fi
fi
# the service as the unit starts it: user ensign with CAP_NET_BIND_SERVICE as its one
# capability, the shipped configuration; a free port below 1024 (port 53 may be taken here)
# and a free API port override the addresses only
port=""
for p in $(seq 900 1000); do
    if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnt "sport = :$p" | grep -q .; then
        port=$p
        break
    fi
done
[ -n "$port" ] || fail "no free port below 1024"
api=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
setpriv --reuid=ensign --regid=ensign --init-groups --inh-caps=-all,+net_bind_service \
    --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service --no-new-privs \
    /usr/bin/ensign serve --config /etc/ensign/ensign.conf --listen "127.0.0.1:$port" \
    --api-listen "127.0.0.1:$api" 2>"$work/serve.log" &
pid=$!
key=$(cat /etc/ensign/api-key)
i=0
until ENSIGN_URL=http://127.0.0.1:$api ENSIGN_TOKEN=$key /usr/bin/ensign zone list >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 200 ] && kill -0 "$pid" 2>/dev/null || fail "the service did not start: $(cat "$work/serve.log")"
    sleep 0.05
done
export ENSIGN_URL=http://127.0.0.1:$api ENSIGN_TOKEN=$key
/usr/bin/ensign zone create pkg.example --ns ns1.pkg.example. >/dev/null
/usr/bin/ensign record set pkg.example ns1 A 300 192.0.2.1 >/dev/null
/usr/bin/ensign dnssec enable pkg.example >/dev/null
dig +short +norec @127.0.0.1 -p "$port" ns1.pkg.example A | grep -qx 192.0.2.1 ||
    fail "the installed service does not answer DNS"
dig +dnssec +norec @127.0.0.1 -p "$port" pkg.example SOA | grep -q RRSIG ||
    fail "the installed service does not sign"
[ "$(stat -c %U /var/lib/ensign/ensign.db)" = ensign ] || fail "the store is not ensign's"
kill "$pid"
wait "$pid" || fail "the service did not stop cleanly: $(cat "$work/serve.log")"
pid=""
grep -q 'daemon.settings' "$work/serve.log" || fail "no settings line in the log"
if grep -q "$key" "$work/serve.log"; then fail "the API key is in the log"; fi
echo "package-check: installed, run as user ensign with CAP_NET_BIND_SERVICE on port $port: ok"
