#!/bin/sh
# jusha-edge prerm: stop the service before its files go. On upgrade dpkg
# keeps it running; postinst restarts it with the new binary.
set -e

if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	systemctl stop jusha-edge.service >/dev/null || true
	systemctl disable jusha-edge.service >/dev/null || true
fi
exit 0
