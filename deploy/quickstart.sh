#!/bin/bash
# ovsnet quick start: a three-host ovsnet cluster on this one machine.
#
#   ./deploy/quickstart.sh          build, (re)start everything, connect a few containers
#   ./deploy/quickstart.sh status   what is running
#   ./deploy/quickstart.sh down     stop it all and remove every trace
#   ./deploy/quickstart.sh shell h1 a shell whose docker talks to h1's Docker engine
#
# A "host" is a network namespace with its own userspace Open vSwitch, a
# "container" is a bare network namespace; hosts talk over a Linux bridge in
# a "wire" namespace (192.0.2.0/24), like test/lab does. Consul and the
# controller run in the root namespace on 127.0.0.1; agents, which live in
# the host namespaces, reach them through unix sockets (127.0.0.1 inside a
# namespace is that namespace's own loopback).
#
# Everything it makes is named qs-* (namespaces) or lives under
# /var/lib/ovsnet-quickstart, so it never touches the test suite's labs
# (random "on…" prefixes, random ports, /tmp/ovsnet-*). Processes are stopped
# by pid, never by name. Run as root on Debian 12.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=qs
STATE=/var/lib/ovsnet-quickstart
LOGS=$STATE/logs
RUN=$STATE/run              # our pid files (OVS writes its own in each host dir)
HTTP_PORT=${OVSNET_QS_HTTP:-8080}
CONSUL_PORT=${OVSNET_QS_CONSUL:-8500}
# status and down use the ports the running quick start was started with.
if [ "${1:-up}" != up ] && [ -f "$STATE/ports" ]; then
  # shellcheck source=/dev/null
  . "$STATE/ports"
fi
CONSUL_BIN=${OVSNET_CONSUL:-${OVSNET_CACHE:-/var/cache/ovsnet}/consul-1.14.11}
HOSTS=(h1 h2 h3)
API=http://127.0.0.1:$HTTP_PORT
# The API's token (docs/security.md): made at start, 0600, read from the
# file by the controller and ovsnetctl (never on a command line); docker
# sends it from $STATE/docker/config.json.
TOKEN_FILE=$STATE/token

# Container namespaces, created on demand; listed here so `down` also finds
# them when the state dir is already gone.
CONTAINERS=(web mysql01 db app local1 local2)
ALL_NETNS=("$PREFIX-wire" "$PREFIX-out")
for h in "${HOSTS[@]}"; do ALL_NETNS+=("$PREFIX-$h"); done
for c in "${CONTAINERS[@]}"; do ALL_NETNS+=("$PREFIX-$c"); done

# fd 3 is the real stderr, so die is heard even from probes whose output
# wait_for discards. Daemons must not inherit it (3>&-): an open copy would
# keep a caller's pipe, e.g. `quickstart.sh | tee`, from ever ending.
exec 3>&2
# Every step says how long the quick start has been running.
T0=$SECONDS
say() { printf '==> [%4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() {
  printf 'quickstart: %s\n' "$*" >&3
  if [ -d "$LOGS" ]; then
    printf 'quickstart: logs are in %s (OVS logs in %s/hN/ovs/); "%s down" cleans up\n' "$LOGS" "$STATE" "$0" >&3
  fi
  exit 1
}

# wait_for DESC SECONDS CMD...: retry CMD every 0.2 s, bounded by both a
# deadline and a try count, so a hung probe can't make it loop forever.
wait_for() {
  local desc=$1 secs=$2 try
  shift 2
  local deadline=$((SECONDS + secs))
  for ((try = 0; try < secs * 5; try++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    ((SECONDS < deadline)) || break
    sleep 0.2
  done
  die "$desc: not ready after ${secs}s"
}

# ours PID: true if PID is alive and one of ours. Every process we start
# names the state dir on its command line; checking that guards against a
# recycled pid (a zombie's cmdline is empty, so it counts as gone).
ours() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "$STATE"
}

# stop_pidfile FILE: SIGTERM the process named in FILE, SIGKILL after 10 s.
stop_pidfile() {
  local f=$1 pid i
  [ -f "$f" ] || return 0
  pid=$(tr -dc 0-9 <"$f")
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do ours "$pid" || break; sleep 0.2; done
    if ours "$pid"; then
      echo "quickstart: pid $pid ($(basename "$f" .pid)) ignored SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

netns_exists() { [ -e "/run/netns/$1" ]; }

down() {
  local h ns pid
  docker_down
  # Agents first (they talk to OVS and Consul), then the controller, OVS, Consul.
  for h in "${HOSTS[@]}"; do stop_pidfile "$RUN/agent-$h.pid"; done
  stop_pidfile "$RUN/controller.pid"
  for h in "${HOSTS[@]}"; do
    stop_pidfile "$STATE/$h/ovs/ovs-vswitchd.pid"
    stop_pidfile "$STATE/$h/ovs/ovsdb-server.pid"
  done
  stop_pidfile "$RUN/consul.pid"
  # Anything still inside one of our namespaces (a ping left running, an
  # agent whose pid file was lost) is ours by construction; kill it by pid.
  for ns in "${ALL_NETNS[@]}"; do
    netns_exists "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for ns in "${ALL_NETNS[@]}"; do
    if netns_exists "$ns"; then ip netns del "$ns"; fi
    rm -rf "/etc/netns/$ns" # the resolv.conf the agents' DNS wrote
  done
  rm -rf "$STATE"
}

status() {
  local f name pid state
  if [ ! -d "$STATE" ]; then echo "quick start is not running"; return 0; fi
  echo "processes:"
  for f in "$RUN"/*.pid "$STATE"/h*/ovs/ovs*.pid; do
    [ -f "$f" ] || continue
    pid=$(tr -dc 0-9 <"$f")
    name=$(basename "$f" .pid)
    case $f in "$STATE"/h*) name="$(basename "$(dirname "$(dirname "$f")")")-$name" ;; esac
    if ours "$pid"; then state="running"; else state="NOT RUNNING"; fi
    printf '  %-22s pid %-8s %s\n' "$name" "$pid" "$state"
  done
  echo "namespaces: $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" | sort | tr '\n' ' ')"
  echo "hosts:"
  OVSNET_TOKEN_FILE=$TOKEN_FILE timeout 10 "$REPO/bin/ovsnetctl" --controller "$API" host ls 2>&1 | sed 's/^/  /' || true
}

# port_busy PORT: is anything listening on TCP PORT (any address)?
port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

# free_port: a random high port free for TCP and UDP (Consul's serf uses
# both), not one already handed out in this run.
PICKED=()
free_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 20000))
    [[ " ${PICKED[*]-} " == *" $p "* ]] && continue
    ss -Hltun "sport = :$p" | grep -q . && continue
    PICKED+=("$p")
    echo "$p"
    return 0
  done
  die "no free port found for Consul after 100 tries"
}

# start_daemon NAME NETNS CMD...: run CMD detached (own session, immune to
# the terminal going away) with output in $LOGS/NAME.log and its pid in
# $RUN/NAME.pid. A non-empty NETNS enters that namespace with nsenter, which
# (unlike `ip netns exec`) keeps the real /sys and cgroups visible. setsid
# and nsenter exec in place here, so $! is the daemon's own pid.
start_daemon() {
  local name=$1 ns=$2
  shift 2
  [ -n "$ns" ] && set -- nsenter "--net=/run/netns/$ns" -- "$@"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 3>&- &
  echo $! >"$RUN/$name.pid"
}

# alive_or_die NAME: fail with the tail of NAME's log if it already exited.
alive_or_die() {
  local pid
  pid=$(cat "$RUN/$1.pid")
  ours "$pid" || die "$1 exited; last lines of $LOGS/$1.log:
$(tail -n 15 "$LOGS/$1.log")"
}

ctl() { OVSNET_TOKEN_FILE=$TOKEN_FILE timeout 60 "$REPO/bin/ovsnetctl" --controller "$API" "$@"; }

# make_token: a random API token in $TOKEN_FILE (0600), and a docker CLI
# configuration that sends it (HttpHeaders), in $STATE/docker.
make_token() {
  local token
  token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  (umask 077 && printf '%s\n' "$token" >"$TOKEN_FILE")
  mkdir -p "$STATE/docker"
  (umask 077 && printf '{\n  "HttpHeaders": {"Authorization": "Bearer %s"}\n}\n' "$token" >"$STATE/docker/config.json")
}

consul_has_leader() {
  alive_or_die consul
  curl -sf --max-time 2 "http://127.0.0.1:$CONSUL_PORT/v1/status/leader" | grep -q '[0-9]'
}
controller_ok() {
  alive_or_die controller
  [ "$(curl -s --max-time 2 "$API/_ping")" = OK ]
}
hosts_alive() {
  local h
  for h in "${HOSTS[@]}"; do alive_or_die "agent-$h"; done
  [ "$(ctl host ls | awk '$3 == "alive"' | wc -l)" -ge "${#HOSTS[@]}" ]
}

add_netns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
}

# plug_wire WIRE_END PEER_END NETNS: a veth from the wire bridge into NETNS,
# IPv4 only (IPv6 autoconfiguration would just add noise on the wire).
plug_wire() {
  ip -n "$PREFIX-wire" link add "$1" type veth peer name "$2" netns "$3"
  ip -n "$PREFIX-wire" link set "$1" master "$PREFIX-br" up
  # The uplink is an OVS port, but its kernel side would still answer ARP
  # for the host's address (on br-phy) with its own MAC: answer only for
  # addresses on the interface itself.
  ip netns exec "$3" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" "net.ipv4.conf.$2.arp_ignore=1"
  ip -n "$3" link set "$2" up
}

build_wire_and_outside() {
  add_netns "$PREFIX-wire"
  ip netns exec "$PREFIX-wire" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$PREFIX-wire" link add "$PREFIX-br" type bridge
  ip -n "$PREFIX-wire" link set "$PREFIX-br" up

  # The outside world: 192.0.2.254 on the wire, 203.0.113.1 behind it. The
  # kernel here has no dummy driver, so a veth pair kept inside the
  # namespace holds 203.0.113.1 instead.
  local out=$PREFIX-out
  add_netns "$out"
  plug_wire "$PREFIX-uo" "$PREFIX-eo" "$out"
  ip -n "$out" addr add 192.0.2.254/24 dev "$PREFIX-eo"
  ip -n "$out" link add "$PREFIX-d0" type veth peer name "$PREFIX-d1"
  ip -n "$out" addr add 203.0.113.1/24 dev "$PREFIX-d0"
  ip -n "$out" link set "$PREFIX-d0" up
  ip -n "$out" link set "$PREFIX-d1" up
  # Kernel TCP/UDP leaves a veth with a partial checksum that the hosts'
  # userspace datapath would forward unfinished; checksum in software.
  ip netns exec "$out" ethtool -K "$PREFIX-eo" tx off >/dev/null
}

# build_host N: namespace qs-hN with its own ovsdb-server and ovs-vswitchd
# (userspace datapath: no OVS kernel module needed); OVS_RUNDIR, OVS_DBDIR
# and OVS_LOGDIR are all $STATE/hN/ovs.
build_host() {
  local n=$1 h=h$1 ns=$PREFIX-h$1 dir=$STATE/h$1/ovs uplink=$PREFIX-e$1
  local mac
  mac=$(printf '02:00:c0:00:02:%02x' "$n")
  add_netns "$ns"
  plug_wire "$PREFIX-u$n" "$uplink" "$ns"
  mkdir -p "$dir"
  export OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir
  ovsdb-tool create "$dir/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  # `ip netns exec` gives the daemons a /sys matching the namespace.
  ip netns exec "$ns" ovsdb-server "$dir/conf.db" \
    --remote="punix:$dir/db.sock" --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
    --pidfile="$dir/ovsdb-server.pid" -vconsole:off --log-file="$dir/ovsdb-server.log" --detach 3>&-
  wait_for "$h ovsdb-server" 10 ovs-vsctl --db="unix:$dir/db.sock" --no-wait --timeout=2 init
  ip netns exec "$ns" ovs-vswitchd "unix:$dir/db.sock" \
    --pidfile="$dir/ovs-vswitchd.pid" -vconsole:off --log-file="$dir/ovs-vswitchd.log" --detach 3>&-
  wait_for "$h ovs-vswitchd" 10 ovs-appctl --timeout=2 -t "$dir/ovs-vswitchd.$(cat "$dir/ovs-vswitchd.pid").ctl" version
  # br-phy owns the uplink and carries the underlay address: userspace
  # tunnelling resolves remote VTEPs only through addresses on OVS bridges.
  # A fixed MAC keeps peers' neighbour caches valid across OVS restarts.
  # Without --no-wait, ovs-vsctl returns once ovs-vswitchd made br-phy.
  ovs-vsctl --db="unix:$dir/db.sock" --timeout=10 add-br br-phy \
    -- set bridge br-phy datapath_type=netdev "other_config:hwaddr=\"$mac\"" \
    -- add-port br-phy "$uplink"
  wait_for "$h br-phy" 10 ip -n "$ns" link show br-phy
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.br-phy.disable_ipv6=1 net.ipv4.ip_forward=1
  ip -n "$ns" addr replace "192.0.2.$n/24" dev br-phy
  ip -n "$ns" link set br-phy up
  ip -n "$ns" route replace 203.0.113.0/24 via 192.0.2.254 dev br-phy
  unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR
}

start_agent() {
  local n=$1 h=h$1 dir=$STATE/h$1/ovs
  # The agent drives ovs-vsctl/ovs-ofctl too: point them at this host's OVS.
  start_daemon "agent-$h" "$PREFIX-$h" env OVS_RUNDIR="$dir" OVS_DBDIR="$dir" OVS_LOGDIR="$dir" \
    "$REPO/bin/ovsnet-agent" -host "$h" -tunnel-ip "192.0.2.$n" \
    -ovsdb "unix:$dir/db.sock" -ovs-rundir "$dir" -datapath-type netdev \
    -consul "unix://$STATE/consul.sock" -prefix ovsnet -state-dir "$STATE/agent-state" \
    -plugin-socket "$STATE/$h/docker/plugins/ovsnet.sock" -docker-host "unix://$STATE/$h/docker/docker.sock" \
    -controller "unix://$STATE/controller.sock" -token-file "$TOKEN_FILE"
}

# Docker on every host (docs/docker.md): one engine per host namespace,
# driving ovsnet through that host's agent. Engines find plugins only in
# /run/docker/plugins, so each runs in a mount namespace of its own (kept
# in a file) where its host's plugin directory is bound there.
dockerd_sock() { echo "$STATE/$1/docker/docker.sock"; }
dk() { local h=$1; shift; timeout 120 docker -H "unix://$(dockerd_sock "$h")" "$@"; }

# busybox_tar: a tiny image made from the machine's static busybox (no
# registry is reachable from the hosts).
busybox_tar() {
  local root=$STATE/busybox-root c
  [ -f "$STATE/busybox.tar" ] && return 0
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for c in sh ping ping6 ip nslookup wget sleep cat ifconfig route nc hostname httpd echo ls true timeout; do
    ln -sf busybox "$root/bin/$c"
  done
  tar -C "$root" -cf "$STATE/busybox.tar" .
}

start_docker() {
  local h=$1 dir=$STATE/$1/docker
  mkdir -p "$dir/plugins" "$dir/mnt" /run/docker/plugins
  mount --bind "$dir/mnt" "$dir/mnt"
  mount --make-private "$dir/mnt"
  touch "$dir/mnt/ns"
  unshare --mount="$dir/mnt/ns" --propagation private mount --bind "$dir/plugins" /run/docker/plugins
  # No iptables and no bridge: egress and published ports are ovsnet's
  # (its nftables rules); Docker's FORWARD drop policy would break them.
  start_daemon "docker-$h" "$PREFIX-$h" nsenter "--mount=$dir/mnt/ns" -- dockerd \
    --data-root "$dir/data" --exec-root "$dir/exec" -H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" \
    --storage-driver vfs --iptables=false --ip-masq=false --bridge=none --userland-proxy=false
}

docker_ready() { alive_or_die "docker-$1" && dk "$1" version; }
docker_has_net() { dk "$1" network ls --format '{{.Name}}' | grep -qx "$2"; }

# docker_down: containers first (their processes live outside the host
# namespaces), then the engines and their mount namespaces.
docker_down() {
  local h dir ids
  for h in "${HOSTS[@]}"; do
    dir=$STATE/$h/docker
    if [ -S "$dir/docker.sock" ] && ours "$(tr -dc 0-9 <"$RUN/docker-$h.pid" 2>/dev/null)"; then
      ids=$(dk "$h" ps -aq 2>/dev/null || true)
      # shellcheck disable=SC2086
      [ -z "$ids" ] || dk "$h" rm -f $ids >/dev/null 2>&1 || true
    fi
    stop_pidfile "$RUN/docker-$h.pid"
    if mountpoint -q "$dir/mnt" 2>/dev/null; then
      umount "$dir/mnt/ns" 2>/dev/null || true
      umount "$dir/mnt" 2>/dev/null || true
    fi
  done
}

start_consul() {
  local serf_lan serf_wan server
  serf_lan=$(free_port)
  serf_wan=$(free_port)
  server=$(free_port)
  mkdir -p "$STATE/consul"
  # A real single-node server (not -dev: its data is on disk). Only the
  # HTTP port is fixed; DNS and gRPC are off, the rest on random high ports.
  cat >"$STATE/consul.hcl" <<EOF
node_name            = "$PREFIX-consul"
server               = true
bootstrap_expect     = 1
data_dir             = "$STATE/consul"
bind_addr            = "127.0.0.1"
client_addr          = "127.0.0.1"
# The unix socket is how agents in the host namespaces reach Consul.
addresses { http = "127.0.0.1 unix://$STATE/consul.sock" }
ports {
  http = $CONSUL_PORT
  https = -1
  dns = -1
  grpc = -1
  grpc_tls = -1
  serf_lan = $serf_lan
  serf_wan = $serf_wan
  server = $server
}
disable_update_check = true
disable_host_node_id = true
performance { raft_multiplier = 1 }
EOF
  start_daemon consul "" "$CONSUL_BIN" agent -config-file "$STATE/consul.hcl"
  wait_for "Consul leader (log: $LOGS/consul.log)" 30 consul_has_leader
}

# connect NET NAME [ovsnetctl flags]: attach container NAME; the call
# returns once the host's agent has plumbed it.
connect() {
  local net=$1 name=$2
  shift 2
  ctl network connect "$@" "$net" "$name" || die "connect $name to $net failed"
}

# container HOST NAME NET [flags]: a new container namespace on HOST, attached to NET.
container() {
  local h=$1 name=$2 net=$3
  shift 3
  add_netns "$PREFIX-$name"
  connect "$net" "$name" --host "$h" --netns "/run/netns/$PREFIX-$name" "$@"
}

up() {
  local t0=$SECONDS
  [ "$(id -u)" = 0 ] || die "run me as root"
  [[ $HTTP_PORT =~ ^[0-9]+$ && $CONSUL_PORT =~ ^[0-9]+$ ]] || die "OVSNET_QS_HTTP and OVSNET_QS_CONSUL must be port numbers"
  command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
  command -v go >/dev/null || die "Go not found (looked on PATH and in /usr/local/go/bin)"

  say "installing dependencies (deploy/install-deps.sh; the first time takes minutes: packages, the Consul build)"
  "$REPO/deploy/install-deps.sh"
  [ -x "$CONSUL_BIN" ] || die "no Consul binary at $CONSUL_BIN"

  say "building bin/ovsnet-controller, bin/ovsnet-agent, bin/ovsnetctl"
  (cd "$REPO" && go build -o bin/ ./cmd/...)

  if [ -d "$STATE" ] || netns_exists "$PREFIX-wire"; then
    say "removing the previous quick start"
    down
  fi
  # Checked after teardown, since a previous quick start holds these ports.
  port_busy "$HTTP_PORT" && die "port $HTTP_PORT is taken: $(ss -Hltnp "sport = :$HTTP_PORT" | head -1)
set OVSNET_QS_HTTP to another port for the controller"
  port_busy "$CONSUL_PORT" && die "port $CONSUL_PORT is taken: $(ss -Hltnp "sport = :$CONSUL_PORT" | head -1)
set OVSNET_QS_CONSUL to another port for Consul"
  mkdir -p "$LOGS" "$RUN" "$STATE/agent-state"
  printf 'HTTP_PORT=%s\nCONSUL_PORT=%s\n' "$HTTP_PORT" "$CONSUL_PORT" >"$STATE/ports"

  say "starting Consul on 127.0.0.1:$CONSUL_PORT"
  start_consul

  say "starting the controller on $API (token in $TOKEN_FILE)"
  make_token
  start_daemon controller "" "$REPO/bin/ovsnet-controller" \
    -listen "127.0.0.1:$HTTP_PORT,unix:$STATE/controller.sock" \
    -token-file "$TOKEN_FILE" \
    -consul "127.0.0.1:$CONSUL_PORT" -prefix ovsnet
  wait_for "controller (log: $LOGS/controller.log)" 20 controller_ok

  say "building hosts ${HOSTS[*]} (namespaces $PREFIX-h1..$PREFIX-h${#HOSTS[@]}, userspace OVS each)"
  build_wire_and_outside
  local i
  for i in "${!HOSTS[@]}"; do build_host $((i + 1)); done

  say "starting an agent on every host"
  for i in "${!HOSTS[@]}"; do start_agent $((i + 1)); done
  wait_for "all ${#HOSTS[@]} hosts alive (logs: $LOGS/agent-h*.log)" 60 hosts_alive

  say "starting a Docker engine on every host (the ovsnet plugin through its agent; image busybox)"
  local h
  busybox_tar
  for h in "${HOSTS[@]}"; do start_docker "$h"; done
  for h in "${HOSTS[@]}"; do
    wait_for "Docker on $h (log: $LOGS/docker-$h.log)" 60 docker_ready "$h"
    dk "$h" import "$STATE/busybox.tar" busybox >/dev/null
  done

  say "creating networks testnet02..testnet04 through Docker on h1 (cluster-wide: every engine lists them)"
  # testnet04 before testnet03: its fixed 10.0.1.0/24 is then taken when
  # testnet03 gets a subnet from the pool, so no two networks share one.
  local n
  dk h1 network create -d ovsnet --ipam-driver ovsnet testnet02 >/dev/null
  dk h1 network create -d ovsnet --ipam-driver ovsnet --subnet 10.0.1.0/24 testnet04 >/dev/null
  dk h1 network create -d ovsnet --ipam-driver ovsnet --internal testnet03 >/dev/null
  for n in testnet02 testnet04 testnet03; do
    wait_for "$n registered with the controller" 30 ctl network inspect "$n"
  done
  # A bridge network lives on one host, which Docker's plugin API cannot say.
  say "creating testnet01, a bridge network local to h1, with ovsnetctl"
  ctl network create -d bridge --host h1 testnet01 >/dev/null

  say "connecting containers"
  container h1 web testnet02
  container h2 mysql01 testnet02
  container h3 db testnet03
  connect testnet03 mysql01 # a second network: the controller knows where mysql01 lives
  container h1 app testnet04 --ip 10.0.1.100
  container h1 local1 testnet01
  container h1 local2 testnet01
  ctl endpoint ls

  local ip
  ip=$(ctl network inspect testnet02 -f '{{range .Containers}}{{if eq .Name "mysql01"}}{{.IPv4Address}}{{end}}{{end}}')
  ip=${ip%%/*}
  [ -n "$ip" ] || die "no address for mysql01 on testnet02"
  say "ping web (h1) -> mysql01 (h2) at $ip, across the VXLAN tunnel"
  # Flows are in place when connect returns; the poll only absorbs ARP.
  wait_for "ping from web to mysql01" 10 timeout 3 ip netns exec "$PREFIX-web" ping -n -c 1 -W 1 "$ip"
  timeout 10 ip netns exec "$PREFIX-web" ping -n -c 3 -i 0.2 -W 1 "$ip" || die "ping from web to mysql01 failed"
  say "web resolves mysql01.testnet02 (answered by h1's agent, docs/dns.md)"
  wait_for "web resolves mysql01.testnet02" 10 timeout 5 ip netns exec "$PREFIX-web" getent hosts mysql01.testnet02
  ip netns exec "$PREFIX-web" getent hosts mysql01.testnet02
  for h in "${HOSTS[@]}"; do wait_for "testnet02 in $h's Docker engine" 30 docker_has_net "$h" testnet02; done
  say "a Docker container on h1 pings mysql01.testnet02 (h2) by name"
  dk h1 run --rm --net testnet02 busybox ping -c 2 -W 2 mysql01.testnet02 || die "Docker on h1 cannot reach mysql01.testnet02"

  local cli=$REPO/bin/ovsnetctl env=""
  [ "$PWD" = "$REPO" ] && cli=bin/ovsnetctl
  [ "$HTTP_PORT" = 8080 ] || env="OVSNET_CONTROLLER=$API "
  cat <<EOF

ovsnet quick start is up (took $((SECONDS - t0))s): hosts h1 h2 h3, networks testnet01..04.

  REST API (Docker Engine API shapes):  $API
  Every request needs the API token (docs/security.md); it is in $TOKEN_FILE:
  export OVSNET_TOKEN_FILE=$TOKEN_FILE
  $env$cli network ls
  $env$cli endpoint ls
  $env$cli host ls
  DOCKER_CONFIG=$STATE/docker docker -H tcp://127.0.0.1:$HTTP_PORT network ls     # config.json sends the token
  DOCKER_CONFIG=$STATE/docker docker -H tcp://127.0.0.1:$HTTP_PORT network inspect testnet02
  Web UI: $API/ (it asks for the token once: cat $TOKEN_FILE)
  ip netns exec $PREFIX-web ping $ip                          # container web -> mysql01
  ip netns exec $PREFIX-web ping mysql01.testnet02                 # by name (DNS, docs/dns.md)
  Docker on every host, with the ovsnet plugin (docs/docker.md); networks appear in every engine:
  docker -H unix://$(dockerd_sock h1) run -d --name mysql02 --net testnet02 busybox httpd -f -p 80
  docker -H unix://$(dockerd_sock h2) run --rm --net testnet02 busybox ping -c 3 mysql02.testnet02
  docker -H unix://$(dockerd_sock h1) run --rm --net testnet02 busybox ping -c 3 mysql01.testnet02   # a namespace container on h2
  docker -H unix://$(dockerd_sock h1) run --rm --net testnet02 --link mysql02:db busybox ping -c 3 db
  docker -H unix://$(dockerd_sock h2) run --rm --net testnet04 --ip 10.0.1.50 busybox ip -o -4 addr show eth0
  docker -H unix://$(dockerd_sock h1) run --rm --net testnet03 busybox ping -c 3 db.testnet03   # internal: its containers only
  ip netns exec $PREFIX-web ping -c 3 mysql02.testnet02
  $0 shell h2                                         # a shell whose docker talks to h2's engine
  OVS_RUNDIR=$STATE/h1/ovs ovs-ofctl -O OpenFlow14 --names dump-flows br-int   # h1's flows
  ovs-vsctl --db=unix:$STATE/h1/ovs/db.sock show

  Logs: $LOGS/ (consul, controller, agent-hN), OVS's in $STATE/hN/ovs/
  Status: $0 status
  Remove everything: $0 down
EOF
}

case ${1:-up} in
  up) up ;;
  down)
    [ "$(id -u)" = 0 ] || die "run me as root"
    down
    echo "quick start removed"
    ;;
  status) status ;;
  shell)
    # shell HOST [BASH ARGS]: bash with DOCKER_HOST set to HOST's engine.
    h=${2:-}
    [[ " ${HOSTS[*]} " == *" $h "* ]] || die "usage: $0 shell HOST [bash arguments] (HOST: ${HOSTS[*]})"
    [ -S "$(dockerd_sock "$h")" ] || die "no Docker engine on $h: is the quick start up? ($0)"
    shift 2
    export DOCKER_HOST=unix://$(dockerd_sock "$h") PS1="[quickstart $h] \w\$ "
    [ $# -gt 0 ] || echo "docker here talks to $h's engine ($DOCKER_HOST); exit to leave" >&2
    exec bash --norc "$@"
    ;;
  *) echo "usage: $0 [up|down|status|shell HOST]" >&2; exit 2 ;;
esac
