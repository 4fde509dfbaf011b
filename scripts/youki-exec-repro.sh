#!/bin/sh
# scripts/youki-exec-repro.sh — owns the reproduction of youki 0.7.0's exec bug, without Docker: a
# process started with `youki exec` gets neither the container's seccomp filter nor its user
# namespace (runc gives it both). Run as root on a Linux host with python3:
#   sh scripts/youki-exec-repro.sh RUNTIME-BINARY ROOTFS-TARBALL   (a busybox root: sh, cat, sleep)
# Run once with youki 0.7.0 and once with runc 1.1.5 (Debian 12), it prints:
#   youki init process: Seccomp 2, uid_map  0 100000 65536
#   youki exec process: Seccomp 0, uid_map  0 0 4294967295
#   runc init process: Seccomp 2, uid_map  0 100000 65536
#   runc exec process: Seccomp 2, uid_map  0 100000 65536
set -e
R=$1; B=$(mktemp -d); chmod 755 "$B"; mkdir "$B/rootfs"; tar -C "$B/rootfs" -xf "$2"; cd "$B"
chown -R 100000:100000 rootfs
"$R" spec
python3 -c '
import json; c = json.load(open("config.json"))
c["process"].update(args=["sleep", "1000"], terminal=False)
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
c["linux"]["namespaces"].append({"type": "user"})
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
json.dump(c, open("config.json", "w"))'
"$R" --root "$B/state" run --detach --bundle "$B" repro </dev/null >/dev/null 2>"$B/run.err" || { cat "$B/run.err" >&2; exit 1; }
pid=$("$R" --root "$B/state" state repro | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
show='echo "Seccomp $(grep Seccomp: /proc/self/status | cut -f2), uid_map $(cat /proc/self/uid_map | tr -s " ")"'
echo "$(basename "$R") init process: $(sh -c "grep Seccomp: /proc/$pid/status | cut -f2 | sed 's/^/Seccomp /'"), uid_map $(tr -s ' ' </proc/$pid/uid_map)"
echo "$(basename "$R") exec process: $("$R" --root "$B/state" exec repro sh -c "$show")"
"$R" --root "$B/state" kill repro 9; sleep 1; "$R" --root "$B/state" delete --force repro 2>/dev/null || true
cd /; rm -rf "$B"
