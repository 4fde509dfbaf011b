#!/bin/sh
# ensure-remap-user.sh: gives a userns-remap user what dockerd needs: the user, its group, and
# subordinate id ranges in /etc/subuid (the user's) and /etc/subgid (the group's).
#
# Usage: sh -c "$(cat ensure-remap-user.sh)" rmachine-ensure-remap-user USER GROUP START COUNT
#   START, COUNT  the range to add where one is missing (rmachine picks START after every
#                 range already in /etc/subuid and /etc/subgid, so nothing overlaps)
#
# Leaves whatever already exists as it is. Prints one line per change.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL

if [ "$#" -ne 4 ]; then
    printf 'ensure-remap-user: usage: USER GROUP START COUNT\n' >&2
    exit 2
fi
user=$1
group=$2
start=$3
count=$4

if ! getent group "$group" >/dev/null 2>&1; then
    if command -v groupadd >/dev/null 2>&1; then
        groupadd --system "$group" || exit 1
    else
        addgroup -S "$group" || exit 1
    fi
    printf 'created group %s\n' "$group"
fi
if ! getent passwd "$user" >/dev/null 2>&1; then
    nologin=$(command -v nologin || echo /bin/false)
    if command -v useradd >/dev/null 2>&1; then
        # no automatic subordinate ids: the range is added below, where rmachine chose it
        useradd --system --no-create-home --gid "$group" --shell "$nologin" \
            -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$user" || exit 1
    else
        adduser -S -D -H -G "$group" -s "$nologin" "$user" || exit 1
    fi
    printf 'created user %s\n' "$user"
fi

# add_range FILE NAME: appends NAME:START:COUNT unless FILE has a range for NAME.
# add_range FILE NAME: appends NAME's range to FILE (/etc/subuid) unless it has one, through a
# copy FILE.rmachine-new renamed over FILE, so a killed run leaves FILE whole.
add_range() {
    touch "$1" || return 1
    grep -q "^$2:" "$1" && return 0
    staged="$1.rmachine-new"
    if ! { cp -p "$1" "$staged" && printf '%s:%s:%s\n' "$2" "$start" "$count" >>"$staged" && mv -f "$staged" "$1"; }; then
        rm -f "$staged"
        return 1
    fi
    printf 'added %s:%s:%s to %s\n' "$2" "$start" "$count" "$1"
}
add_range /etc/subuid "$user" || exit 1
add_range /etc/subgid "$group" || exit 1
exit 0
