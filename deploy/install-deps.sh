#!/bin/bash
# Installs everything ovsnet's quick start and tests need on a fresh Debian 12
# machine, as root. Idempotent: installed packages and the cached Consul build
# are reused, so a second run takes seconds and prints one line.
#
# The package manager's and the Consul build's output go to a log
# ($OVSNET_INSTALL_LOG, default /var/cache/ovsnet/install.log), not the
# terminal: each step prints one line, then its elapsed time every 15 s while
# it runs, and the end of the log if it fails.
set -euo pipefail

PKGS=(openvswitch-switch iproute2 iputils-ping iputils-arping iperf3 ethtool tshark dnsperf
      nftables docker.io busybox-static chromium ca-certificates procps psmisc curl jq
      podman containernetworking-plugins docker-compose)
CACHE=${OVSNET_CACHE:-/var/cache/ovsnet}
LOG=${OVSNET_INSTALL_LOG:-$CACHE/install.log}
CONSUL_BIN=$CACHE/consul-1.14.11
mkdir -p "$(dirname "$LOG")"

# step DESCRIPTION COMMAND...: runs COMMAND with its output in the log,
# telling how long it has been running.
step() {
  local what=$1 t0=$SECONDS; shift
  echo "  $what (log: $LOG)"
  printf '\n== %s: %s\n' "$(date -Is)" "$what" >>"$LOG"
  "$@" >>"$LOG" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 15); do
      sleep 1
      kill -0 "$pid" 2>/dev/null || break
    done
    kill -0 "$pid" 2>/dev/null && echo "    ... $what: $((SECONDS - t0))s"
  done
  if ! wait "$pid"; then
    echo "install-deps: $what failed after $((SECONDS - t0))s; the end of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
  echo "    done in $((SECONDS - t0))s"
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "$@"
}

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${#missing[@]} Debian packages: ${missing[*]}" apt_install "${missing[@]}"
fi

if [ ! -x "$CONSUL_BIN" ]; then
  step "building Consul 1.14.11 into $CONSUL_BIN (about three minutes, once per machine)" \
    "$(dirname "$0")/consul/build.sh"
fi
[ -x "$CONSUL_BIN" ] || { echo "install-deps: no Consul binary at $CONSUL_BIN" >&2; exit 1; }
echo "  dependencies in place (Debian packages, $CONSUL_BIN)"
