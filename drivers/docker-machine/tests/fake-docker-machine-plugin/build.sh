#!/usr/bin/env bash
# Builds the Go fake docker-machine plugin (and the golden transcript recorder) into
# $RMACHINE_CACHE/go-plugin/ (RMACHINE_CACHE defaults to /var/cache/rmachine-ci), only when its
# sources or the Go version changed (a hash stamp). Standard library only: nothing is fetched
# (GOPROXY=off), and the build cache and GOPATH live in the cache, not in the clone.
# Needs Go (Debian's golang-go; .ci/run installs it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${RMACHINE_CACHE:-/var/cache/rmachine-ci}"
out="$cache/go-plugin"
command -v go >/dev/null || { echo "build.sh: Go is missing: apt-get install golang-go" >&2; exit 1; }
export GOCACHE="$cache/go-build" GOPATH="$cache/go-path" GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOTELEMETRY=off
stamp="$( (cd "$here" && find . -type f \( -name '*.go' -o -name go.mod \) -print0 | sort -z | xargs -0 sha256sum; go version) | sha256sum | cut -d' ' -f1)"
if [ -x "$out/docker-machine-driver-fake" ] && [ -x "$out/golden-recorder" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "the fake plugin in $out is up to date"
    exit 0
fi
mkdir -p "$out"
cd "$here"
go vet ./...
go build -trimpath -o "$out/docker-machine-driver-fake.new" ./cmd/docker-machine-driver-fake
go build -trimpath -o "$out/golden-recorder.new" ./cmd/golden
mv "$out/docker-machine-driver-fake.new" "$out/docker-machine-driver-fake"
mv "$out/golden-recorder.new" "$out/golden-recorder"
echo "$stamp" > "$out/stamp"
echo "built $out/docker-machine-driver-fake"
