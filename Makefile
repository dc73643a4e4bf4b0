# Latch: the commands the README names.
GO ?= go

.PHONY: run test bench measure build fmt

## run: the service on its embedded default (SQLite file ./latch.db)
run:
	$(GO) run ./cmd/latch serve

## test: every test, with the race detector (needs PostgreSQL; see README)
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## bench: the in-process benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	$(GO) build -o bin/latch ./cmd/latch

fmt:
	gofmt -l -w .

## measure: the load targets against the built binary (about two minutes)
measure:
	scripts/measure.sh
