#!/bin/bash
# Installs everything ovsnet's quick start and tests need on a fresh Debian 12
# machine, as root. Idempotent: installed packages and the cached Consul build
# are reused, so a second run takes seconds.
set -euo pipefail

PKGS=(openvswitch-switch iproute2 iputils-ping iputils-arping iperf3 ethtool tshark dnsperf
      nftables docker.io busybox-static chromium ca-certificates procps psmisc curl jq
      podman containernetworking-plugins docker-compose)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

"$(dirname "$0")/consul/build.sh"
