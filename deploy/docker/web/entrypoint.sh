#!/bin/sh
# Serve $WEB_NAME on / and "ok" on /health with busybox httpd, in the foreground.
set -eu
: "${WEB_NAME:?set WEB_NAME to the name this server answers with}"
mkdir -p /srv/www
echo "$WEB_NAME" >/srv/www/index.html
echo ok >/srv/www/health
# -f: foreground; -vv: log requests to stderr; -u: drop root after binding port 80.
exec busybox httpd -f -vv -p 80 -h /srv/www -u www-data:www-data
