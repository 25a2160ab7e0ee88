# Jusha Edge. `make test` installs what the tests need (Debian), then runs
# vet, gofmt and every test with the race detector.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 40m
FUZZTIME ?= 30s
FUZZMINIMIZE ?= 5s

.PHONY: all build test deps vet fmt-check unit cross clean fuzz

all: build

build:
	$(GO) build -o bin/edge ./cmd/edge

deps:
	./scripts/deps.sh

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps vet fmt-check
	CI=$${CI:-} $(GO) test -race -timeout $(TIMEOUT) $(PKGS)

# fuzz runs every fuzz target (func FuzzX in a *_test.go) for FUZZTIME, one
# after another; `go test ./...` runs their seed corpora only. FUZZMINIMIZE
# bounds the minimizing of each new input (Go's default, 60s, can take a
# whole run).
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		d=$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$t ./$${d#./}"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./$${d#./}; \
		done; \
	done

# unit runs the tests without installing anything (peer tests skip).
unit:
	$(GO) test -race -short $(PKGS)

cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='-s -w' -o bin/edge-linux-amd64 ./cmd/edge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags='-s -w' -o bin/edge-linux-arm64 ./cmd/edge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags='-s -w' -o bin/edge-linux-armv7 ./cmd/edge

clean:
	rm -rf bin dist
