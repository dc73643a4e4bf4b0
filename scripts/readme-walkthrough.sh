#!/usr/bin/env bash
# Runs README.md's commands as a newcomer types them: every ```sh block, in
# order, in one bash session, from the root of a clean clone of this
# repository, on the embedded default (SQLite). It prints each block before it
# runs it and exits non-zero at the first command that fails.
#
#   ```sh          run as written
#   ```sh serve    a command that serves until stopped: started in the
#                  background, waited for (/readyz on 127.0.0.1:8080), stopped
#   ```sh no-run   needs what a test machine lacks (a provider's credentials,
#                  an SMTP server, a PostgreSQL to dump) or is the test
#                  command itself: only checked to parse (bash -n)
#
# `make test` runs it through TestREADMEWalkthrough (cmd/latch). It needs git,
# curl and Go; port 8080 on 127.0.0.1 must be free.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

if curl -fs -o /dev/null http://127.0.0.1:8080/healthz 2>/dev/null; then
  echo "walkthrough: something already answers on 127.0.0.1:8080; stop it first" >&2
  exit 1
fi

# The committed state, as a newcomer's clone has it.
git clone -q "$root" "$work/latch"
# `make install` puts latch here; no LATCH_* of the caller's leaks in.
export GOBIN="$work/bin" PATH="$work/bin:$PATH"
for v in $(env | sed -n 's/^\(LATCH_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done

# README.md -> one script: each block announced, run, then (serve) stopped.
awk -v q="'" '
  BEGIN { print "trap " q "kill $(jobs -p) 2>/dev/null || true" q " EXIT" }
  /^```/ {
    if (!inblock) {
      inblock = 1; kind = "run"
      if ($0 ~ /^```sh no-run/) kind = "no-run"
      else if ($0 ~ /^```sh serve/) kind = "serve"
      else if ($0 !~ /^```sh[[:space:]]*$/) kind = "skip"
      n++; body = ""
      next
    }
    inblock = 0
    if (kind == "skip") next
    printf "echo %s--- README block %d (%s, line %d)%s\n", q, n, kind, NR, q
    # The block as the README shows it (not a trace: that would print the
    # tokens and secrets the commands capture).
    printf "sed %ss/^/    /%s <<%sSHOW_%d%s\n%sSHOW_%d\n", q, q, q, n, q, body, n
    if (kind == "no-run") {
      printf "bash -n <<%sNO_RUN_%d%s\n%sNO_RUN_%d\n", q, n, q, body, n
    } else if (kind == "serve") {
      # Its own process group, so that stopping it stops what it started
      # (go run builds and runs a child).
      printf "setsid bash -c %s%s%s > \"$WALK/serve-%d.log\" 2>&1 &\nserving=$!\n", q, substr(body, 1, length(body) - 1), q, n
      printf "for _ in $(seq 1 600); do curl -fs -o /dev/null http://127.0.0.1:8080/readyz && break; sleep 0.2; done\n"
      printf "curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || { cat \"$WALK/serve-%d.log\"; exit 1; }\n", n
      printf "kill -- -$serving; wait $serving 2>/dev/null || true\n"
      printf "for _ in $(seq 1 100); do curl -fs -o /dev/null http://127.0.0.1:8080/healthz || break; sleep 0.1; done\n"
    } else {
      printf "%s", body
    }
    next
  }
  inblock { body = body $0 "\n" }
' "$root/README.md" > "$work/walkthrough.sh"

cd "$work/latch"
WALK="$work" bash -euo pipefail "$work/walkthrough.sh"
echo "walkthrough: every README command ran"
