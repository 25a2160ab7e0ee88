#!/bin/sh
# Installs the real peers the tests talk to, when missing (Debian, as root or
# with sudo): Mosquitto, VictoriaMetrics, pymodbus, socat, openssl, curl,
# Chromium. Safe to run again: it installs nothing that is already there.
set -eu

need=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have mosquitto || need="$need mosquitto"
have mosquitto_sub || need="$need mosquitto-clients"
have victoria-metrics || need="$need victoria-metrics"
have socat || need="$need socat"
have openssl || need="$need openssl"
have curl || need="$need curl"
have chromium || need="$need chromium"
for p in python3-pymodbus python3-serial python3-serial-asyncio; do
	pkg "$p" || need="$need $p"
done

if [ -z "$need" ]; then
	echo "deps: all test peers present"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing:$need (install them with your package manager)" >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing:$need"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
echo "deps: done"
