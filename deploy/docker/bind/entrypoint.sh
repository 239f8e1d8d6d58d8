#!/bin/sh
# Prepare named, then run the command (named -g -u bind ...).
# - The TSIG key is mounted read-only, owned by the agent's user with mode 600; named reads
#   its configuration after dropping root, so it gets its own copy, readable by bind only.
# - named needs a writable copy of the lab zone (updates write a journal next to it). The
#   copy is made once per container, so updates survive `compose stop/start bind`.
set -eu
mkdir -p /run/named
chown bind:bind /run/named
install -m 600 -o bind -g bind /etc/dnsfailover/lab.key /run/named/lab.key
zone=/var/lib/bind/example.test.zone
if [ ! -e "$zone" ]; then
    install -m 644 -o bind -g bind /etc/dnsfailover/example.test.zone "$zone"
fi
exec "$@"
