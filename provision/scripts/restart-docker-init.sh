#!/bin/sh
# restart-docker-init.sh: makes an OpenRC or sysvinit host run dockerd with the configuration
# now on disk, enabled at boot.
#
# Usage: sh -c "$(cat restart-docker-init.sh)" rmachine-restart-docker INIT TIMEOUT_SECONDS
#   INIT  openrc | sysvinit
#
# Waits until `docker version` answers on the local socket, at most TIMEOUT_SECONDS.
# Prints "docker: running" or "docker: not running" last; exit status 0 when it runs.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
init=$1
timeout_seconds=${2:-90}

if [ -f /etc/docker/daemon.json ] && dockerd --help 2>/dev/null | grep -q -- '--validate'; then
    if ! dockerd --validate --config-file /etc/docker/daemon.json; then
        printf 'restart-docker: dockerd refuses /etc/docker/daemon.json; docker was not restarted\n' >&2
        exit 3
    fi
fi

case $init in
    openrc)
        rc-update add docker default >/dev/null 2>&1 ||
            printf 'restart-docker: warning: could not enable docker at boot\n' >&2
        rc-service docker restart >/dev/null 2>&1 || rc-service docker start >/dev/null 2>&1
        ;;
    sysvinit)
        if command -v update-rc.d >/dev/null 2>&1; then
            update-rc.d docker defaults >/dev/null 2>&1 ||
                printf 'restart-docker: warning: could not enable docker at boot\n' >&2
        fi
        /etc/init.d/docker stop >/dev/null 2>&1
        # the init script's stop returns before dockerd has gone
        waited=0
        while pidof dockerd >/dev/null 2>&1 && [ "$waited" -lt 30 ]; do
            sleep 1
            waited=$((waited + 1))
        done
        /etc/init.d/docker start >/dev/null 2>&1
        ;;
    *)
        printf 'restart-docker: unknown init system %s\n' "$init" >&2
        exit 2
        ;;
esac

waited=0
while [ "$waited" -lt "$timeout_seconds" ]; do
    if pidof dockerd >/dev/null 2>&1 && docker version >/dev/null 2>&1; then
        printf 'docker: running\n'
        exit 0
    fi
    if ! pidof dockerd >/dev/null 2>&1 && [ "$waited" -ge 5 ]; then
        break
    fi
    sleep 1
    waited=$((waited + 1))
done
printf 'docker: not running\n'
exit 1
