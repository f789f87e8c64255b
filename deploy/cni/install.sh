#!/bin/bash
# Installs ovsnet's CNI plugin and one network configuration per ovsnet
# network, so Podman (CNI backend), containerd or CRI-O on this host can
# attach containers to them (docs/cni.md). Run as root; idempotent.
#
#   deploy/cni/install.sh [--plugin FILE] [--bin-dir DIR]... [--conf-dir DIR] [--socket PATH] NETWORK...
#
#   --plugin FILE   the plugin binary (default: bin/ovsnet-cni of this checkout,
#                   built with `go build` when missing)
#   --bin-dir DIR   where runtimes look for CNI plugins; repeatable (default:
#                   /usr/lib/cni, Debian's Podman, and /opt/cni/bin, containerd and CRI-O)
#   --conf-dir DIR  where runtimes read network configurations (default /etc/cni/net.d)
#   --socket PATH   the agent's -cni-socket (default /run/ovsnet/cni.sock)
#
# Each NETWORK gets CONF_DIR/ovsnet-NETWORK.conflist; the runtime's network
# name is the ovsnet network's (podman run --network NETWORK).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PLUGIN=$REPO/bin/ovsnet-cni
BIN_DIRS=()
CONF_DIR=/etc/cni/net.d
SOCKET=/run/ovsnet/cni.sock

die() { printf 'deploy/cni/install.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --plugin) PLUGIN=${2:?--plugin needs a file}; shift 2 ;;
    --bin-dir) BIN_DIRS+=("${2:?--bin-dir needs a directory}"); shift 2 ;;
    --conf-dir) CONF_DIR=${2:?--conf-dir needs a directory}; shift 2 ;;
    --socket) SOCKET=${2:?--socket needs a path}; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) die "unknown option $1 (--help lists them)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || usage
[ ${#BIN_DIRS[@]} -gt 0 ] || BIN_DIRS=(/usr/lib/cni /opt/cni/bin)
case $SOCKET in *[\"\\]*) die "--socket $SOCKET: quotes and backslashes are not allowed" ;; /*) ;; *) die "--socket $SOCKET: want an absolute path (the agent's -cni-socket)" ;; esac
for net in "$@"; do
  # ovsnet's network names; also safe in a file name and in JSON.
  [[ $net =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$ ]] || die "invalid network name \"$net\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
done

if [ ! -x "$PLUGIN" ]; then
  [ "$PLUGIN" = "$REPO/bin/ovsnet-cni" ] || die "no plugin binary at $PLUGIN"
  command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
  (cd "$REPO" && go build -o bin/ ./cmd/ovsnet-cni) || die "building bin/ovsnet-cni failed"
fi

for dir in "${BIN_DIRS[@]}"; do
  # Into place by rename: a runtime executing the old binary is not disturbed.
  install -d -m 0755 "$dir"
  install -m 0755 "$PLUGIN" "$dir/.ovsnet-cni.new"
  mv -f "$dir/.ovsnet-cni.new" "$dir/ovsnet-cni"
  echo "installed $dir/ovsnet-cni"
done

install -d -m 0755 "$CONF_DIR"
for net in "$@"; do
  conf=$CONF_DIR/ovsnet-$net.conflist
  # cniVersion 1.0.0 for Podman 4 (libcni 1.1); runtimes with CNI 1.1
  # pick 1.1.0 from cniVersions, which adds STATUS and GC.
  cat >"$conf.new" <<CONF
{
  "cniVersion": "1.0.0",
  "cniVersions": ["1.0.0", "1.1.0"],
  "name": "$net",
  "plugins": [
    {
      "type": "ovsnet-cni",
      "network": "$net",
      "socket": "$SOCKET",
      "capabilities": {"ips": true, "mac": true, "aliases": true, "portMappings": true}
    }
  ]
}
CONF
  chmod 0644 "$conf.new"
  mv -f "$conf.new" "$conf"
  echo "installed $conf"
done
