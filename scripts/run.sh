#!/bin/sh
# `make run`: the main job available so far — check a zone file and print it in canonical order.
set -eu
bin=build/rel/ensign
zone=${ZONE:-examples/example.zone}
echo "\$ $bin zone-check $zone"
"$bin" zone-check "$zone"
echo
echo "\$ $bin zone-print $zone"
"$bin" zone-print "$zone"
echo
echo "Try it on your own zone: $bin zone-check FILE [--origin NAME]; $bin zone-print FILE"
