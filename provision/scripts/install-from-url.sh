#!/bin/sh
# install-from-url.sh: installs the engine with an install script such as https://get.docker.com.
#
# Usage: sh -c "$(cat install-from-url.sh)" rmachine-install-from-url URL [VERSION]
#   VERSION  passed to the script as VERSION= (get.docker.com installs that engine version)
#
# The script is downloaded completely before it runs (unlike `curl URL | sh`, a download that
# breaks half way runs nothing), with curl, or wget when curl is missing.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
DEBIAN_FRONTEND=noninteractive
export PATH LC_ALL DEBIAN_FRONTEND

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    printf 'install-from-url: usage: URL [VERSION]\n' >&2
    exit 2
fi
url=$1
if [ -n "${2:-}" ]; then
    VERSION=$2
    export VERSION
fi

script=$(mktemp) || exit 1
trap 'rm -f "$script"' EXIT
if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$script" "$url" || exit 1
elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$script" "$url" || exit 1
else
    printf 'install-from-url: neither curl nor wget is installed\n' >&2
    exit 127
fi
sh "$script" </dev/null
