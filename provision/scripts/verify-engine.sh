#!/bin/sh
# verify-engine.sh: reports what the running engine really does, after a configuration change.
#
# Usage: sh -c "$(cat verify-engine.sh)" rmachine-verify-engine [--smoke] [--runtime NAME]
#        [--remap-user USER]
#   --smoke         run a smoke container (from an image made of the host's own sh, cat and
#                   sleep, imported once as rmachine/smoke:2) and report the uid_map and seccomp
#                   mode of its first process and of a process started in it with `docker exec`
#                   (runtimes take different paths for the two: youki 0.7.0 filters only the first)
#   --runtime NAME  run the smoke container under runtime NAME
#   --remap-user U  report U's range in /etc/subuid
#
# Output: KEY=VALUE lines: driver, security-options, default-runtime, runtimes, and with --smoke
# uid-map, seccomp, container-runtime and exec-uid-map, exec-seccomp (or exec-error), or
# smoke-error; after an error, runtime-log (the runtime's own error).

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL

smoke=no
runtime=
remap_user=
while [ "$#" -gt 0 ]; do
    case $1 in
        --smoke) smoke=yes; shift ;;
        --runtime) runtime=$2; shift 2 ;;
        --remap-user) remap_user=$2; shift 2 ;;
        *) printf 'verify-engine: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
done

info=$(docker info --format '{{.Driver}}|{{json .SecurityOptions}}|{{.DefaultRuntime}}|{{range $name, $_ := .Runtimes}}{{$name}} {{end}}' 2>&1) || {
    printf 'verify-engine: docker info failed: %s\n' "$info" >&2
    exit 1
}
printf '%s\n' "$info" | awk -F'|' '{ print "driver=" $1; print "security-options=" $2; print "default-runtime=" $3; print "runtimes=" $4 }'
if [ -n "$remap_user" ]; then
    printf 'subuid=%s\n' "$(grep "^$remap_user:" /etc/subuid 2>/dev/null | head -n 1)"
fi
[ "$smoke" = yes ] || exit 0

image=rmachine/smoke:2
if ! docker image inspect "$image" >/dev/null 2>&1; then
    # removed again at the end: the smoke test leaves no image behind
    trap 'docker rmi -f "$image" >/dev/null 2>&1; rm -rf "${root:-/nonexistent}"' EXIT
    # An image of the host's own sh, cat and sleep with their libraries: no registry needed.
    root=$(mktemp -d) || exit 1
    for program in sh cat sleep; do
        path=$(command -v "$program") || continue
        for file in "$path" $(ldd "$path" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
            mkdir -p "$root$(dirname "$file")"
            cp -L "$file" "$root$file"
        done
        mkdir -p "$root/bin"
        [ -e "$root/bin/$program" ] || cp -L "$path" "$root/bin/$program"
    done
    mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/etc"
    if ! import=$(tar -C "$root" -c . | docker import - "$image" 2>&1); then
        printf 'smoke-error=cannot import the smoke image: %s\n' "$(printf '%s' "$import" | tr '\n' ' ')"
        exit 0
    fi
fi

log=/var/log/rmachine-runtime.log
mark=$(wc -c <"$log" 2>/dev/null || echo 0)
# report_runtime_error: the first error the runtime logged in this attempt (its JSON "message")
report_runtime_error() {
    [ -f "$log" ] || return 0
    first=$(tail -c +"$((mark + 1))" "$log" | grep -i error | head -n 1)
    message=$(printf '%s' "$first" | sed -n 's/.*"message":"\([^"]*\)".*/\1/p')
    printf 'runtime-log=%s\n' "${message:-$first}"
}
# The same report from the first process and from an exec'd one: uid_map, then "Seccomp: N".
show='cat /proc/self/uid_map; while read -r key value; do [ "$key" = Seccomp: ] && echo "Seccomp: $value"; done </proc/self/status; true'
# report PREFIX: the report on stdin as PREFIXuid-map= and PREFIXseccomp= lines
report() {
    awk -v prefix="$1" '/^Seccomp:/ { print prefix "seccomp=" $2; next } NF == 3 && !done { print prefix "uid-map=" $1 " " $2 " " $3; done = 1 }'
}
name=rmachine-smoke-$$
set -- --detach --name "$name"
[ -n "$runtime" ] && set -- "$@" --runtime "$runtime"
if ! run=$(docker run "$@" "$image" /bin/sh -c "$show; echo ready; exec sleep 120" 2>&1); then
    printf 'smoke-error=%s\n' "$(printf '%s' "$run" | tr '\n' ' ')"
    report_runtime_error
    docker rm -f "$name" >/dev/null 2>&1
    exit 0
fi
printf 'container-runtime=%s\n' "$(docker inspect -f '{{.HostConfig.Runtime}}' "$name" 2>/dev/null)"
# the first process's report, once it has printed it (it is running: `docker run -d` returned)
tries=0
while first=$(docker logs "$name" 2>&1) && ! printf '%s\n' "$first" | grep -qx ready && [ "$tries" -lt 50 ]; do
    sleep 0.2
    tries=$((tries + 1))
done
printf '%s\n' "$first" | report ""
if exec_run=$(docker exec "$name" /bin/sh -c "$show" 2>&1); then
    printf '%s\n' "$exec_run" | report exec-
else
    printf 'exec-error=%s\n' "$(printf '%s' "$exec_run" | tr '\n' ' ')"
    report_runtime_error
fi
docker rm -f "$name" >/dev/null 2>&1
exit 0
