#!/usr/bin/env bash
# Build Latch's release binaries: static (CGO_ENABLED=0; modernc SQLite is
# pure Go), reproducible paths (-trimpath), stripped, with the version in
# the binary (`latch version`), for linux amd64/arm64 and darwin arm64,
# plus SHA-256 checksums. Output: dist/latch-VERSION-OS-ARCH[.tar.gz].
#
#   scripts/release.sh            version from `git describe` (v0.0.0-dev-<commit> without tags)
#   VERSION=v1.2.3 scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."

version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
case "$version" in v*) ;; *) version="v0.0.0-dev-$version" ;; esac
out=dist
rm -rf "$out"
mkdir -p "$out"

for target in linux/amd64 linux/arm64 darwin/arm64; do
  os="${target%/*}" arch="${target#*/}"
  name="latch-$version-$os-$arch"
  mkdir -p "$out/$name"
  echo "release: $name"
  CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -buildvcs=true \
    -ldflags "-s -w -X main.releaseVersion=$version" \
    -o "$out/$name/latch" ./cmd/latch
  cp LICENSE README.md CHANGELOG.md "$out/$name/"
  tar -C "$out" -czf "$out/$name.tar.gz" "$name"
  rm -rf "${out:?}/$name"
done

(cd "$out" && sha256sum ./*.tar.gz > SHA256SUMS)
cat "$out/SHA256SUMS"
