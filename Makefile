# Jusha Edge. `make test` installs what the tests need (Debian), then runs
# vet, gofmt and every test with the race detector.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 40m
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build test deps vet fmt-check unit cross package clean

all: build

build:
	$(GO) build -ldflags='$(LDFLAGS)' -o bin/edge ./cmd/edge

deps:
	./scripts/deps.sh

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps vet fmt-check
	CI=$${CI:-} $(GO) test -race -timeout $(TIMEOUT) $(PKGS)

# unit runs the tests without installing anything (peer tests skip).
unit:
	$(GO) test -race -short $(PKGS)

cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/edge-linux-amd64 ./cmd/edge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/edge-linux-arm64 ./cmd/edge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/edge-linux-armv7 ./cmd/edge

# package builds .deb packages for amd64, arm64 and armhf into dist/.
package:
	GO=$(GO) ./scripts/package.sh

clean:
	rm -rf bin dist
