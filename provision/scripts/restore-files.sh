#!/bin/sh
# restore-files.sh: undoes what write-files.sh did in the run RUN_ID.
#
# Usage: sh -c "$(cat restore-files.sh)" rmachine-restore-files MARKER RUN_ID [DEST]...
#   MARKER, RUN_ID  as given to write-files.sh
#   DEST            the files write-files.sh was asked to write
#
# When MARKER holds RUN_ID, write-files.sh made its backups in this run: each DEST gets its
# DEST.rmachine-bak back, or is removed when there was none (DEST did not exist before). Otherwise
# write-files.sh stopped before replacing anything, and only its staged files are removed.
# Prints one line per file it restored or removed.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
# Runs to its end even when the SSH connection drops (rmachine killed): no half-restored set.
trap '' HUP PIPE

if [ "$#" -lt 2 ]; then
    printf 'restore-files: usage: MARKER RUN_ID [DEST]...\n' >&2
    exit 2
fi
marker=$1
run_id=$2
shift 2

for destination in "$@"; do
    rm -f "$destination.rmachine-new" "$destination.rmachine-bak-new"
done

if [ "$(cat "$marker" 2>/dev/null)" != "$run_id" ]; then
    printf 'nothing to restore: no file was replaced\n'
    exit 0
fi

status=0
for destination in "$@"; do
    if [ -e "$destination.rmachine-bak" ]; then
        if mv -f "$destination.rmachine-bak" "$destination"; then
            printf 'restored %s\n' "$destination" 2>/dev/null
        else
            status=1
        fi
    elif [ -e "$destination" ]; then
        if rm -f "$destination"; then
            printf 'removed %s (it did not exist before)\n' "$destination" 2>/dev/null
        else
            status=1
        fi
    fi
done
if [ "$status" = 0 ]; then
    rm -f "$marker"
fi
exit "$status"
