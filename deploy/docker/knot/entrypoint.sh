#!/bin/sh
# Give knotd a writable copy of the lab zone (updates are synced back into it).
# The copy is made once per container, so updates survive `compose stop/start knot`.
set -eu
zone=/var/lib/knot/example.test.zone
if [ ! -e "$zone" ]; then
    cp /etc/dnsfailover/example.test.zone "$zone"
    chown knot:knot "$zone"
fi
mkdir -p /run/knot && chown knot:knot /run/knot
exec "$@"
