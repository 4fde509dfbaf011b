#!/bin/sh
# Written by rmachine: Docker runs this as the runtime. It runs @RUNTIME@ with the same
# arguments and, when it fails, appends the runtime's own error (from the log file the
# containerd shim gives it with --log) to @LOG@, where `rmachine provision` shows it: Docker
# itself only says "did not terminate successfully".
@RUNTIME@ "$@"
status=$?
if [ "$status" != 0 ]; then
    log=
    previous=
    for argument in "$@"; do
        [ "$previous" = --log ] && log=$argument
        case $argument in --log=*) log=${argument#--log=} ;; esac
        previous=$argument
    done
    {
        printf '%s: %s exited with status %s\n' "$(date -u +%FT%TZ)" "$*" "$status"
        [ -n "$log" ] && [ -f "$log" ] && tail -n 5 "$log"
    } >>@LOG@ 2>/dev/null
fi
exit "$status"
