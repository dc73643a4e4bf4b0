#!/usr/bin/env bash
# Builds the Dex OIDC provider used as a real provider in tests, from the
# tools module in tools/dex (the version is pinned in tools/dex/go.mod).
# The binary is cached outside the repo, keyed by the pinned Dex version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/latch/dex-<version>/dex
# and is only built when that file is missing. The last line on stdout is
# the binary's path, e.g.  DEX="$(scripts/build-dex.sh | tail -n1)"
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/tools/dex"
pkg=github.com/dexidp/dex/cmd/dex

# The pinned version, read from tools/dex/go.mod without touching the network.
version="$(awk '($1 == "github.com/dexidp/dex" || ($1 == "require" && $2 == "github.com/dexidp/dex")) {
	print ($1 == "require" ? $3 : $2); exit }' "$tools/go.mod")"
if [[ -z "$version" ]]; then
	echo "build-dex: cannot find the github.com/dexidp/dex version in $tools/go.mod" >&2
	exit 1
fi

dir="${XDG_CACHE_HOME:-$HOME/.cache}/latch/dex-$version"
bin="$dir/dex"

if [[ ! -x "$bin" ]]; then
	mkdir -p "$dir"
	tmp="$(mktemp "$dir/dex.tmp.XXXXXX")"
	trap 'rm -f "$tmp"' EXIT
	echo "build-dex: building Dex $version into $bin (takes a few minutes)" >&2
	# -mod=readonly: build exactly what go.mod/go.sum pin; never rewrite them.
	# GOWORK=off: a go.work elsewhere must not change the dependency graph.
	# main.version is what `dex version` prints.
	(cd "$tools" && GOWORK=off \
		go build -mod=readonly -trimpath -ldflags "-w -X main.version=$version" -o "$tmp" "$pkg") >&2
	mv -f "$tmp" "$bin" # atomic: concurrent runs never see a half-written binary
	trap - EXIT
fi

echo "$bin"
