#!/bin/sh
# restore-files.sh: puts back the configuration that was last confirmed, undoing what
# write-files.sh replaced in the run RUN_ID (and in the unconfirmed runs it took over).
#
# Usage: sh -c "$(cat restore-files.sh)" rmachine-restore-files MARKER RUN_ID
#   MARKER, RUN_ID  as given to write-files.sh
#
# MARKER is claimed first by renaming it, so that rmachine's own rollback and the host's rollback
# watchdog (rollback-watchdog.sh) never both restore: whoever renames it first does. When it holds
# RUN_ID, each file it lists gets its DEST.rmachine-bak back, or is removed when there was none
# (DEST did not exist before); MARKER.rolled-back then records RUN_ID and the time. Otherwise
# nothing was replaced in this run, or it was restored already, and nothing is touched.
# Prints one line per file it restored or removed.
#
# Exit status: 0 when the files are as before the run (restored now, restored already, or never
# replaced); 1 when a file could not be put back (MARKER is then kept).

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
# Runs to its end even when the SSH connection drops (rmachine killed): no half-restored set.
trap '' HUP PIPE

if [ "$#" -lt 2 ]; then
    printf 'restore-files: usage: MARKER RUN_ID\n' >&2
    exit 2
fi
marker=$1
run_id=$2

claimed="$marker.restoring.$$"
if ! mv "$marker" "$claimed" 2>/dev/null; then
    if [ "$(cut -d ' ' -f 1 "$marker.rolled-back" 2>/dev/null)" = "$run_id" ]; then
        printf 'nothing to restore: the host restored the configuration before run %s already\n' "$run_id"
    else
        printf 'nothing to restore: no file was replaced\n'
    fi
    exit 0
fi
if [ "$(head -n 1 "$claimed")" != "$run_id" ]; then
    # another run's marker: handed back untouched (ln fails if a new one appeared meanwhile)
    ln "$claimed" "$marker" 2>/dev/null
    rm -f "$claimed"
    printf 'nothing to restore: no file was replaced in run %s\n' "$run_id"
    exit 0
fi

status=0
files=$(sed -n 's/^file //p' "$claimed")
old_ifs=$IFS
IFS='
'
for destination in $files; do
    IFS=$old_ifs
    rm -f "$destination.rmachine-new" "$destination.rmachine-bak-new"
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
IFS=$old_ifs
if [ "$status" = 0 ]; then
    printf '%s %s\n' "$run_id" "$(date +%s)" >"$marker.rolled-back.rmachine-new" &&
        mv -f "$marker.rolled-back.rmachine-new" "$marker.rolled-back"
    rm -f "$claimed" "$marker.deadline"
else
    ln "$claimed" "$marker" 2>/dev/null
    rm -f "$claimed"
fi
exit "$status"
