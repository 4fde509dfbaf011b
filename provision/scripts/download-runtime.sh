#!/bin/sh
# download-runtime.sh: installs an OCI runtime from a release tarball, after checking it.
#
# Usage: sh -c "$(cat download-runtime.sh)" rmachine-download-runtime URL SHA256 NAME DEST
#   The tarball at URL must have the SHA-256 SHA256; the file NAME found in it becomes DEST
#   (mode 0755). A checksum mismatch installs nothing.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL

if [ "$#" -ne 4 ]; then
    printf 'download-runtime: usage: URL SHA256 NAME DEST\n' >&2
    exit 2
fi
url=$1
sha=$2
name=$3
destination=$4
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$work/release.tar.gz" "$url" || exit 1
elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$work/release.tar.gz" "$url" || exit 1
else
    printf 'download-runtime: neither curl nor wget is installed\n' >&2
    exit 127
fi
actual=$(sha256sum "$work/release.tar.gz" | cut -d ' ' -f 1)
if [ "$actual" != "$sha" ]; then
    printf 'download-runtime: %s has SHA-256 %s, expected %s: not installed\n' "$url" "$actual" "$sha" >&2
    exit 1
fi
tar -xzf "$work/release.tar.gz" -C "$work" || exit 1
found=$(find "$work" -type f -name "$name" | head -n 1)
[ -n "$found" ] || { printf 'download-runtime: no %s in %s\n' "$name" "$url" >&2; exit 1; }
mkdir -p "$(dirname "$destination")" || exit 1
install -m 0755 "$found" "$destination.rmachine-new" && mv -f "$destination.rmachine-new" "$destination"
