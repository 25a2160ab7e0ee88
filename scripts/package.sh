#!/bin/sh
# Builds the jusha-edge .deb packages: one static binary (CGO_ENABLED=0) per
# architecture, packed with nFPM (`go tool nfpm`, pinned in go.mod) with the
# systemd unit, the example config (as /etc/jusha-edge/edge.yaml, a
# conffile) and the built-in profiles.
#
# Usage: scripts/package.sh [ARCH...]     ARCH: amd64 arm64 armhf (default all)
# Environment:
#   DIST     output directory (default dist)
#   VERSION  package version (default from `git describe`, else 0.0.0~dev)
#   GO       go command (default go)
set -eu

cd "$(dirname "$0")/.."
GO=${GO:-go}
DIST=${DIST:-dist}
ARCHES=${*:-amd64 arm64 armhf}

if [ -z "${VERSION:-}" ]; then
	VERSION=$(git describe --tags --always --dirty 2>/dev/null || true)
fi
VERSION=${VERSION#v}
case "$VERSION" in
	[0-9]*) ;;
	"") VERSION=0.0.0~dev ;;
	*) VERSION="0.0.0~git.$VERSION" ;;   # no tag yet: the commit, sorting before any release
esac
# Debian versions allow [A-Za-z0-9.+~-]; turn anything else into '.'.
VERSION=$(printf '%s' "$VERSION" | tr -c 'A-Za-z0-9.+~\n-' '.')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

for f in cmd/edge configs/edge.example.yaml configs/profiles/door.yaml configs/profiles/elevator.yaml \
	configs/profiles/gate.yaml deploy/systemd/jusha-edge.service docs/installing.md; do
	if [ ! -e "$f" ]; then
		echo "package: $f is missing" >&2
		exit 1
	fi
done

mkdir -p "$DIST/build"
for arch in $ARCHES; do
	case "$arch" in
		amd64) goarch=amd64 goarm= ;;
		arm64) goarch=arm64 goarm= ;;
		armhf) goarch=arm goarm=7 ;;
		*) echo "package: unknown architecture $arch (amd64, arm64, armhf)" >&2; exit 2 ;;
	esac
	bin="$DIST/build/edge-linux-$arch"
	echo "package: building $bin"
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm "$GO" build -trimpath \
		-ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" -o "$bin" ./cmd/edge
	echo "package: $(wc -c <"$bin") bytes $bin"
	recipe="$DIST/build/nfpm-$arch.yaml"
	sed -e "s|\${DEB_ARCH}|$arch|g" -e "s|\${VERSION}|$VERSION|g" -e "s|\${BINARY}|$bin|g" \
		deploy/nfpm/nfpm.yaml >"$recipe"
	"$GO" tool nfpm package --config "$recipe" --packager deb --target "$DIST/"
done
ls -l "$DIST"/*.deb
