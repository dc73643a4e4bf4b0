# Latch: the commands the README names.
GO ?= go

.PHONY: run test bench measure build install fmt release

## run: the service on its embedded default (SQLite file ./latch.db)
run:
	$(GO) run ./cmd/latch serve

## test: each benchmark once (so that none can rot unnoticed), then every
## test with the race detector (needs PostgreSQL and Redis; see README)
test:
	$(GO) vet ./...
	@mkdir -p bin
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./... > bin/bench-smoke.log 2>&1 || { cat bin/bench-smoke.log; exit 1; }
	$(GO) test -race -count=1 ./...

## bench: the in-process benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## build: bin/latch. -buildvcs=auto stamps the commit into it (latch version)
## even where GOFLAGS says -buildvcs=false; outside a git checkout it builds
## without one.
build:
	$(GO) build -buildvcs=auto -o bin/latch ./cmd/latch

## install: latch on the PATH (in $(go env GOPATH)/bin), stamped the same way
install:
	$(GO) install -buildvcs=auto ./cmd/latch

fmt:
	gofmt -l -w .

## measure: the load targets against the built binary (about two minutes)
measure:
	scripts/measure.sh

## release: static binaries for linux amd64/arm64 and darwin arm64 with
## version information, tarred, with SHA256SUMS, in dist/ (VERSION=v1.2.3 to name it)
release:
	scripts/release.sh
