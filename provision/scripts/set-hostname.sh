#!/bin/sh
# set-hostname.sh: gives the host the machine's name, touching only what differs.
#
# Usage: sh -c "$(cat set-hostname.sh)" rmachine-set-hostname NAME
#
# Sets the running hostname, /etc/hostname, and the "127.0.1.1 NAME" line of /etc/hosts (the
# Debian convention, so the name resolves without DNS). Both files are written to a temporary
# name and renamed over, or in place where one is a bind mount (as in containers).

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
set -u

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    printf 'set-hostname: usage: NAME\n' >&2
    exit 2
fi
name=$1

if [ "$(cat /proc/sys/kernel/hostname 2>/dev/null)" != "$name" ]; then
    if ! hostname "$name" 2>/dev/null; then
        printf '%s\n' "$name" >/proc/sys/kernel/hostname || exit 1
    fi
    printf 'set the running hostname\n'
fi

# replace_file NEW DEST: puts NEW's content at DEST through DEST.rmachine-new and a rename (a
# killed run leaves DEST whole), keeping DEST's mode and owner. In place only where DEST is a
# mount point of its own (containers bind-mount /etc/hostname and /etc/hosts), which a rename
# cannot replace.
replace_file() {
    staged="$2.rmachine-new"
    rm -f "$staged"
    if [ -e "$2" ]; then
        cp -p "$2" "$staged" || return 1
    fi
    if cat "$1" >"$staged" && mv -f "$staged" "$2" 2>/dev/null; then
        return 0
    fi
    rm -f "$staged"
    cat "$1" >"$2"
}

hostname_new=$(mktemp) || exit 1
hosts_new=$(mktemp) || exit 1
trap 'rm -f "$hostname_new" "$hosts_new"' EXIT
if [ "$(cat /etc/hostname 2>/dev/null)" != "$name" ]; then
    printf '%s\n' "$name" >"$hostname_new" && replace_file "$hostname_new" /etc/hostname || exit 1
    printf 'wrote /etc/hostname\n'
fi

# Keeps a "127.0.1.1 NAME" line as it is; otherwise the first 127.0.1.1 line becomes
# "127.0.1.1<TAB>NAME", further 127.0.1.1 lines are dropped, and one is added if none existed.
awk -v name="$name" '
    $1 == "127.0.1.1" {
        if (!done) {
            if (NF == 2 && $2 == name) print; else print "127.0.1.1\t" name
            done = 1
        }
        next
    }
    { print }
    END { if (!done) print "127.0.1.1\t" name }
' /etc/hosts >"$hosts_new" 2>/dev/null || printf '127.0.1.1\t%s\n' "$name" >"$hosts_new"
if ! cmp -s "$hosts_new" /etc/hosts; then
    replace_file "$hosts_new" /etc/hosts || exit 1
    printf 'updated /etc/hosts\n'
fi
exit 0
