#!/bin/sh
# rollback-watchdog.sh: "commit confirmed" for the engine's configuration. Before rmachine restarts
# the engine with files write-files.sh replaced, it arms a watchdog that runs on the host by
# itself, detached from rmachine's SSH session: unless rmachine confirms the new configuration
# (after the engine answered and passed its checks) by the deadline, the watchdog restores the
# last confirmed files (restore-files.sh) and restarts the engine. So a host whose link to
# rmachine drops, or whose rmachine is killed, right after the restart still ends up with a working
# engine, without rmachine.
#
# Usage: sh -c "$(cat rollback-watchdog.sh)" rmachine-rollback-watchdog ACTION ARGUMENTS...
#   arm MARKER RUN_ID SECONDS DIR DETACH WATCHDOG_SCRIPT RESTORE_SCRIPT RESTART_SCRIPT [RESTART_ARG]...
#       writes the three scripts into DIR (this script, restore-files.sh and the engine's restart
#       script), sets the deadline to now + SECONDS and starts the watchdog of RUN_ID in the
#       background: DETACH auto is a transient systemd unit (rmachine-rollback-RUN_ID) when systemd
#       runs the host, else (or with DETACH setsid) a process in a session of its own. A watchdog
#       of RUN_ID already running keeps watching with the new deadline.
#   extend MARKER RUN_ID SECONDS    moves the deadline of RUN_ID to now + SECONDS
#   confirm MARKER RUN_ID           the configuration of RUN_ID is good: removes MARKER, and the
#                                   watchdog ends within a second
#   watch MARKER RUN_ID DIR [RESTART_ARG]...   the watchdog itself (what arm starts)
#
# MARKER is write-files.sh's record of the unconfirmed run; its deadline is MARKER.deadline
# ("RUN_ID EPOCH_SECONDS"). The watchdog logs to DIR/rollback.log and leaves when MARKER no
# longer names RUN_ID (confirmed, restored by rmachine, or taken over by a newer run).
#
# Exit status: 0 done; 3 the deadline passed and the previous configuration was restored
# already (extend, confirm); 4 MARKER does not name RUN_ID; 1 any other failure.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
umask 077
trap '' HUP PIPE

fail() {
    printf 'rollback-watchdog: %s\n' "$1" >&2
    exit "${2:-1}"
}

[ "$#" -ge 3 ] || fail "usage: arm|extend|confirm|watch MARKER RUN_ID ..." 2
action=$1
marker=$2
run_id=$3
shift 3

marker_run() { head -n 1 "$marker" 2>/dev/null; }

# not_ours: exits 3 when RUN_ID was rolled back already, else 4.
not_ours() {
    if [ "$(cut -d ' ' -f 1 "$marker.rolled-back" 2>/dev/null)" = "$run_id" ]; then
        fail "the deadline of run $run_id passed: the host restored the previous configuration already" 3
    fi
    fail "$marker does not name run $run_id: there is no unconfirmed configuration of that run" 4
}

# put FILE TEXT: writes TEXT to FILE through a temporary name.
put() {
    printf '%s' "$2" >"$1.rmachine-new" && mv -f "$1.rmachine-new" "$1"
}

set_deadline() {
    case $1 in
        '' | *[!0-9]*) fail "SECONDS must be a number, not '$1'" 2 ;;
    esac
    put "$marker.deadline" "$run_id $(($(date +%s) + $1))
" || fail "cannot write $marker.deadline"
}

log() {
    printf '%s run %s: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$run_id" "$*"
}

# running_watchdog DIR: whether the watchdog of RUN_ID runs (DIR/watchdog.pid names it).
running_watchdog() {
    read -r watched_run watched_pid 2>/dev/null <"$1/watchdog.pid" || return 1
    [ "$watched_run" = "$run_id" ] && [ -n "$watched_pid" ] && kill -0 "$watched_pid" 2>/dev/null
}

arm() {
    [ "$#" -ge 6 ] || fail "usage: arm MARKER RUN_ID SECONDS DIR DETACH WATCHDOG RESTORE RESTART [ARG]..." 2
    seconds=$1 dir=$2 detach=$3
    [ "$(marker_run)" = "$run_id" ] || not_ours
    { mkdir -p "$dir" && chmod 700 "$dir"; } || fail "cannot create $dir"
    { put "$dir/watchdog.sh" "$4" && put "$dir/restore-files.sh" "$5" && put "$dir/restart-docker.sh" "$6"; } ||
        fail "cannot write the watchdog's scripts into $dir"
    shift 6
    set_deadline "$seconds"
    if running_watchdog "$dir"; then
        printf 'armed: the watchdog of run %s already runs; its deadline is in %s s\n' "$run_id" "$seconds"
        return 0
    fi
    if [ "$detach" = auto ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 &&
        systemd-run --unit "rmachine-rollback-$run_id" --description "rmachine: restore the engine configuration unless confirmed" \
            --collect --quiet /bin/sh "$dir/watchdog.sh" watch "$marker" "$run_id" "$dir" "$@" </dev/null >/dev/null 2>&1; then
        how="systemd unit rmachine-rollback-$run_id"
    elif command -v setsid >/dev/null 2>&1; then
        setsid /bin/sh "$dir/watchdog.sh" watch "$marker" "$run_id" "$dir" "$@" </dev/null >/dev/null 2>&1 &
        how="process $!"
    else
        nohup /bin/sh "$dir/watchdog.sh" watch "$marker" "$run_id" "$dir" "$@" </dev/null >/dev/null 2>&1 &
        how="process $!"
    fi
    printf 'armed: unless confirmed within %s s, the host restores the previous configuration (%s)\n' "$seconds" "$how"
}

watch() {
    dir=$1
    shift
    exec >>"$dir/rollback.log" 2>&1
    put "$dir/watchdog.pid" "$run_id $$
"
    log "watching: the previous configuration comes back unless rmachine confirms this one"
    while :; do
        if [ "$(marker_run)" != "$run_id" ]; then
            log "confirmed, restored or taken over by a newer run: nothing to do"
            exit 0
        fi
        deadline=$(cut -d ' ' -f 2 "$marker.deadline" 2>/dev/null)
        case $deadline in '' | *[!0-9]*) deadline=0 ;; esac
        [ "$(date +%s)" -lt "$deadline" ] || break
        sleep 1
    done
    log "not confirmed by its deadline: restoring the previous configuration"
    restored=$(sh "$dir/restore-files.sh" "$marker" "$run_id" 2>&1)
    status=$?
    log "$restored (exit status $status)"
    case $restored in
        'nothing to restore'*) exit 0 ;;
    esac
    log "restarting the engine"
    sh "$dir/restart-docker.sh" "$@"
    log "restart finished with exit status $?"
}

confirm() {
    claimed="$marker.confirming.$$"
    mv "$marker" "$claimed" 2>/dev/null || not_ours
    if [ "$(head -n 1 "$claimed")" != "$run_id" ]; then
        ln "$claimed" "$marker" 2>/dev/null
        rm -f "$claimed"
        not_ours
    fi
    rm -f "$claimed" "$marker.deadline"
    printf 'confirmed run %s\n' "$run_id"
}

case $action in
    arm) arm "$@" ;;
    extend)
        [ "$(marker_run)" = "$run_id" ] || not_ours
        set_deadline "${1:-}"
        printf 'deadline of run %s moved to %s s from now\n' "$run_id" "$1"
        ;;
    confirm) confirm ;;
    watch) watch "$@" ;;
    *) fail "unknown action $action" 2 ;;
esac
