#!/bin/sh
# jusha-edge postinst: the service user, its permissions, the unit.
set -e

if [ "$1" = "configure" ]; then
	# A system user of its own, in dialout for the serial ports.
	if ! getent group jusha-edge >/dev/null; then
		groupadd --system jusha-edge
	fi
	if ! getent passwd jusha-edge >/dev/null; then
		useradd --system --gid jusha-edge --home-dir /var/lib/jusha-edge --no-create-home \
			--shell /usr/sbin/nologin --comment "Jusha Edge gateway" jusha-edge
	fi
	if getent group dialout >/dev/null; then
		usermod -a -G dialout jusha-edge
	fi

	# The config directory and file: readable by the service, not by
	# others. Secret files in it (site.key, tokens) are the installer's:
	# owner jusha-edge, mode 0600.
	chown root:jusha-edge /etc/jusha-edge /etc/jusha-edge/edge.yaml
	chmod 0750 /etc/jusha-edge
	chmod 0640 /etc/jusha-edge/edge.yaml

	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
		if [ -z "$2" ]; then
			# First install: enabled, but started by the installer once
			# edge.yaml and site.key are written (docs/installing.md).
			systemctl enable jusha-edge.service >/dev/null || true
			echo "jusha-edge: edit /etc/jusha-edge/edge.yaml, run 'edge validate', then 'systemctl start jusha-edge'."
		else
			# Upgrade: restart only if it was running.
			systemctl try-restart jusha-edge.service >/dev/null || true
		fi
	fi
fi
exit 0
