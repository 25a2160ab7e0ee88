#!/bin/sh
# jusha-edge postrm: on purge, remove the site's state and config. The
# system user stays (Debian practice: files it owned may remain elsewhere).
set -e

if [ "$1" = "purge" ]; then
	rm -rf /var/lib/jusha-edge /etc/jusha-edge
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
exit 0
