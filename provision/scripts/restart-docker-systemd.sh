#!/bin/sh
# restart-docker-systemd.sh: makes systemd run dockerd with the configuration now on disk.
#
# Usage: sh -c "$(cat restart-docker-systemd.sh)" rmachine-restart-docker TIMEOUT_SECONDS
#
# Order matters (socket activation race): the files are already written, so systemd reloads the
# units first; only then is docker.service restarted, so whatever starts dockerd from now on
# (this restart, or a client touching docker.sock) starts it with the new configuration.
# The start-rate limit left by earlier failures is reset first, and docker is enabled at boot.
# The restart waits for dockerd to report ready (Type=notify) for at most TIMEOUT_SECONDS:
# Debian's unit sets TimeoutStartSec=0, which would otherwise wait forever.
#
# Docker 23 and later check daemon.json first (`dockerd --validate`), so a bad file fails here
# without a restart; 20.10 has no such check and only the restart tells.
#
# Prints "docker.service: STATE" last. Exit status 0 when docker.service is active.

PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
timeout_seconds=${1:-90}

if [ -f /etc/docker/daemon.json ] && dockerd --help 2>/dev/null | grep -q -- '--validate'; then
    if ! dockerd --validate --config-file /etc/docker/daemon.json; then
        printf 'restart-docker: dockerd refuses /etc/docker/daemon.json; docker was not restarted\n' >&2
        exit 3
    fi
fi

if ! systemctl daemon-reload; then
    printf 'restart-docker: systemctl daemon-reload failed\n' >&2
fi
systemctl reset-failed docker.service docker.socket >/dev/null 2>&1
if ! systemctl enable docker.service >/dev/null 2>&1; then
    printf 'restart-docker: warning: could not enable docker.service at boot\n' >&2
fi

socket_state=$(systemctl show -p LoadState docker.socket 2>/dev/null | sed -n 's/^LoadState=//p')
if [ "$socket_state" = loaded ]; then
    systemctl enable docker.socket >/dev/null 2>&1
    systemctl start docker.socket >/dev/null 2>&1
fi

# service VERB: systemctl VERB docker.service, for at most TIMEOUT_SECONDS.
service() {
    if command -v timeout >/dev/null 2>&1; then
        timeout "$timeout_seconds" systemctl "$1" docker.service
    else
        systemctl "$1" docker.service
    fi
}

service restart
restart_status=$?

# A dockerd that made its own socket (docker-machine's drop-in passes -H unix:///var/run/docker.sock)
# replaced the socket file docker.socket listens on, and removed it when it stopped: the new
# dockerd then serves an unlinked socket. The socket unit listens anew (stopping it stops the
# service too, which is started again).
if [ "$socket_state" = loaded ] && [ "$restart_status" = 0 ]; then
    listen=$(systemctl show -p Listen docker.socket 2>/dev/null | sed -n 's/^Listen=\(\/[^ ]*\) (Stream)$/\1/p')
    if [ -n "$listen" ] && [ ! -S "$listen" ]; then
        printf 'restart-docker: %s was gone; restarting docker.socket\n' "$listen" >&2
        systemctl restart docker.socket >/dev/null 2>&1
        service start
        restart_status=$?
    fi
fi

state=$(systemctl is-active docker.service 2>/dev/null)
printf 'docker.service: %s\n' "${state:-unknown}"
if [ "$state" = active ]; then
    exit 0
fi
if [ "$restart_status" = 124 ]; then
    printf 'restart-docker: dockerd did not report ready within %s seconds\n' "$timeout_seconds" >&2
fi
exit 1
