#!/bin/sh
# shellcheck disable=SC2317 # the step functions are called through for_each_file
# write-files.sh: replaces files atomically, keeping a backup of each file it replaces.
#
# Usage: sh -c "$(cat write-files.sh)" rmachine-write-files MARKER RUN_ID [DEST MODE LENGTH]...
#   MARKER  the record of the configuration written but not yet confirmed (see below)
#   RUN_ID  an identifier of this run, handed to restore-files.sh and rollback-watchdog.sh
#   DEST    an absolute path; MODE its octal mode; LENGTH the byte count of its new content
# Standard input: the new contents of every DEST, concatenated in argument order.
#
# MARKER holds RUN_ID on its first line and "file DEST" on each further line: the files replaced
# since the last configuration that was confirmed (rollback-watchdog.sh confirm removes MARKER),
# whose DEST.rmachine-bak holds that confirmed content (no backup: DEST did not exist then).
#
# Steps: (1) stage every new content as DEST.rmachine-new beside its DEST; (2) take over MARKER of
# an earlier run that was never confirmed (a killed rmachine): its files keep their backups, which
# still hold the confirmed configuration; (3) for each other DEST copy the current file to
# DEST.rmachine-bak, or remove a stale DEST.rmachine-bak when DEST does not exist; (4) write MARKER
# with RUN_ID and every file of both runs; (5) rename every DEST.rmachine-new over its DEST.
#
# Every file it leaves at a DEST (or a backup, or MARKER) got there by a rename, so a killed run
# never leaves one half-written; SIGHUP and SIGPIPE are ignored, so an SSH connection that drops
# (rmachine killed) does not stop it between two renames: it finishes, or stops before the first.
#
# Exit status: 0 when every file was written; 10 when it failed before any DEST was replaced
# (nothing changed on the host); any other failure happened while replacing files: run
# restore-files.sh with the same MARKER and RUN_ID.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
umask 077
trap '' HUP PIPE

# fail_unchanged MESSAGE [DEST MODE LENGTH]...: gives up before anything was replaced, removing
# the staged files of the DESTs and handing back an earlier run's marker it took over.
fail_unchanged() {
    printf 'write-files: %s; nothing was changed\n' "$1" >&2
    shift
    for_each_file discard_staged "$@" 2>/dev/null
    if [ -n "${taken_over:-}" ]; then
        ln "$taken_over" "$marker" 2>/dev/null
        rm -f "$taken_over"
    fi
    exit 10
}

if [ "$#" -lt 2 ]; then
    printf 'write-files: usage: MARKER RUN_ID [DEST MODE LENGTH]...\n' >&2
    exit 10
fi
marker=$1
run_id=$2
shift 2
if [ $(($# % 3)) -ne 0 ]; then
    printf 'write-files: the files must be given as DEST MODE LENGTH triples\n' >&2
    exit 10
fi

# for_each_file ACTION DEST MODE LENGTH...: calls ACTION DEST MODE LENGTH for every triple,
# stopping at the first failure.
for_each_file() {
    action=$1
    shift
    while [ "$#" -ge 3 ]; do
        "$action" "$1" "$2" "$3" || return 1
        shift 3
    done
}

discard_staged() {
    rm -f "$1.rmachine-new"
}

input=$(mktemp) || fail_unchanged "cannot create a temporary file"
trap 'rm -f "$input"' EXIT
cat >"$input" || fail_unchanged "cannot read the new contents from standard input"
offset=1

stage() {
    destination=$1
    mode=$2
    length=$3
    case $destination in
        /*) ;;
        *) printf 'write-files: %s is not an absolute path\n' "$destination" >&2; return 1 ;;
    esac
    # Folders it makes are 0755 (the files keep their own modes): a login user that reads
    # through sudo must still see that the files are there.
    (umask 022 && mkdir -p "$(dirname "$destination")") || return 1
    staged="$destination.rmachine-new"
    rm -f "$staged"
    tail -c +"$offset" "$input" | head -c "$length" >"$staged" || return 1
    written=$(wc -c <"$staged" | tr -d ' ')
    if [ "$written" != "$length" ]; then
        printf 'write-files: %s: got %s bytes, expected %s\n' "$destination" "$written" "$length" >&2
        return 1
    fi
    chmod "$mode" "$staged" || return 1
    offset=$((offset + length))
}

# back_up DEST: keeps DEST's current content as DEST.rmachine-bak, unless the earlier unconfirmed
# run's backup of DEST is kept.
back_up() {
    if printf '%s\n' "$previous_files" | grep -qxF -- "$1"; then
        return 0
    fi
    if [ -e "$1" ]; then
        cp -p "$1" "$1.rmachine-bak-new" && mv -f "$1.rmachine-bak-new" "$1.rmachine-bak"
    else
        rm -f "$1.rmachine-bak"
    fi
}

# (the report line may fail to reach a dropped connection: that does not fail the replacement)
replace() {
    mv -f "$1.rmachine-new" "$1" || return 1
    printf 'wrote %s\n' "$1" 2>/dev/null || true
}

total=$(wc -c <"$input" | tr -d ' ')
for_each_file stage "$@" || fail_unchanged "cannot stage the new files" "$@"
if [ "$total" != $((offset - 1)) ]; then
    fail_unchanged "standard input holds $total bytes, the lengths add up to $((offset - 1))" "$@"
fi
# An earlier run's marker is taken over by renaming it (atomic: a rollback watchdog or restore
# that renames it first wins, and this run then backs up what that one restored).
previous_files=
taken_over="$marker.taken-over.$$"
if mv "$marker" "$taken_over" 2>/dev/null; then
    previous_files=$(sed -n 's/^file //p' "$taken_over")
else
    taken_over=
fi
for_each_file back_up "$@" || fail_unchanged "cannot back up the current files" "$@"

# list_file DEST MODE LENGTH: a "file DEST" line of the new marker, for a DEST not listed yet.
list_file() {
    printf '%s\n' "$previous_files" | grep -qxF -- "$1" || printf 'file %s\n' "$1"
}
mkdir -p "$(dirname "$marker")" || fail_unchanged "cannot create the directory of $marker" "$@"
if ! {
    {
        printf '%s\n' "$run_id"
        [ -z "$previous_files" ] || printf '%s\n' "$previous_files" | sed 's/^/file /'
        for_each_file list_file "$@"
    } >"$marker.rmachine-new" && mv -f "$marker.rmachine-new" "$marker"
}; then
    fail_unchanged "cannot write $marker" "$@"
fi
[ -z "$taken_over" ] || rm -f "$taken_over"

if ! for_each_file replace "$@"; then
    printf 'write-files: replacing the files failed part way; restore them from the backups\n' >&2
    exit 20
fi
exit 0
