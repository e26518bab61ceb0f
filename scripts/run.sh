#!/bin/sh
# `make run`: starts ensign on the embedded default — a store in ./var, DNS on 127.0.0.1:5353,
# the API on 127.0.0.1:8053 — with the demo zone example.com (examples/example.zone) signed,
# and prints how to use it. Ctrl-C stops the server.
#   env: ENSIGN_DATA (./var), ENSIGN_DNS (127.0.0.1:5353), ENSIGN_API (127.0.0.1:8053),
#        ENSIGN_API_KEY (demo-key; written to $ENSIGN_DATA/api-key, mode 0600, for the server)
set -eu
bin=build/rel/ensign
data=${ENSIGN_DATA:-./var}
dnsaddr=${ENSIGN_DNS:-127.0.0.1:5353}
apiaddr=${ENSIGN_API:-127.0.0.1:8053}
key=${ENSIGN_API_KEY:-demo-key}
url=http://$apiaddr
dnsport=${dnsaddr##*:}

# The key goes to the server in a file only it may read: a key on the command line would be
# visible to every user in /proc/PID/cmdline.
(umask 077 && mkdir -p "$data")
keyfile=$data/api-key
(umask 077 && printf '%s\n' "$key" > "$keyfile")
chmod 600 "$keyfile"

"$bin" serve --listen "$dnsaddr" --data "$data" --api-listen "$apiaddr" --api-key-file "$keyfile" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0' INT TERM
export ENSIGN_URL="$url" ENSIGN_TOKEN="$key"
i=0
until "$bin" zone list >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
        echo "run: ensign serve did not start" >&2
        exit 1
    fi
    sleep 0.1
done
if ! "$bin" zone list | grep -q '^example.com\.'; then
    "$bin" zone import example.com examples/example.zone
    "$bin" dnssec enable example.com >/dev/null
fi
cat <<INFO

ensign is serving example.com, signed, from $data.
  DNS:   dig @${dnsaddr%:*} -p $dnsport www.example.com A +dnssec
  API:   curl -H 'X-API-Key: $key' $url/api/v1/servers/localhost/zones/example.com.
  CLI:   export ENSIGN_URL=$url ENSIGN_TOKEN=$key
         $bin zone list
         $bin record set example.com blog A 300 192.0.2.82
         $bin record list example.com --name blog
         $bin dnssec status example.com      # signing, the rollover, the parent
         $bin ds example.com                 # the DS to give the registrar
         $bin audit --zone example.com       # who changed what
  Metrics: curl -H 'X-API-Key: $key' $url/metrics
Ctrl-C stops the server.
INFO
wait $pid
