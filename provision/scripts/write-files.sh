#!/bin/sh
# shellcheck disable=SC2317 # the step functions are called through for_each_file
# write-files.sh: replaces files atomically, keeping a backup of each file it replaces.
#
# Usage: sh -c "$(cat write-files.sh)" rmachine-write-files MARKER RUN_ID [DEST MODE LENGTH]...
#   MARKER  a file this script writes RUN_ID into once every backup is made
#   RUN_ID  an identifier of this run, handed to restore-files.sh afterwards
#   DEST    an absolute path; MODE its octal mode; LENGTH the byte count of its new content
# Standard input: the new contents of every DEST, concatenated in argument order.
#
# Steps: (1) stage every new content as DEST.rmachine-new beside its DEST; (2) for each DEST copy
# the current file to DEST.rmachine-bak, or remove a stale DEST.rmachine-bak when DEST does not
# exist; (3) write RUN_ID to MARKER; (4) rename every DEST.rmachine-new over its DEST.
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
# the staged files of the DESTs.
fail_unchanged() {
    printf 'write-files: %s; nothing was changed\n' "$1" >&2
    shift
    for_each_file discard_staged "$@" 2>/dev/null
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
    mkdir -p "$(dirname "$destination")" || return 1
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

back_up() {
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
for_each_file back_up "$@" || fail_unchanged "cannot back up the current files" "$@"
mkdir -p "$(dirname "$marker")" || fail_unchanged "cannot create the directory of $marker" "$@"
if ! { printf '%s\n' "$run_id" >"$marker.rmachine-new" && mv -f "$marker.rmachine-new" "$marker"; }; then
    fail_unchanged "cannot write $marker" "$@"
fi

if ! for_each_file replace "$@"; then
    printf 'write-files: replacing the files failed part way; restore them from the backups\n' >&2
    exit 20
fi
exit 0
