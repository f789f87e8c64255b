#!/bin/bash
# Creates (or updates) ovsnet's Consul ACL policies from deploy/consul/acl/
# and a token for one controller or one host's agent (docs/security.md).
#
#   deploy/consul/acl.sh controller CONSUL_NODE TOKEN_FILE
#   deploy/consul/acl.sh agent HOST CONSUL_NODE TOKEN_FILE
#
# CONSUL_NODE is the Consul client agent the daemon talks to (its node_name,
# normally the machine's host name); HOST the agent's -host. The token's
# secret is written to TOKEN_FILE, mode 0600 (refused if the file exists),
# and never printed: give it to the daemon as CONSUL_HTTP_TOKEN_FILE.
#
# It runs the consul CLI ($CONSUL, default "consul") with a token allowed to
# manage ACLs (acl = "write", e.g. the bootstrap token) in CONSUL_HTTP_TOKEN
# or CONSUL_HTTP_TOKEN_FILE, against CONSUL_HTTP_ADDR. The KV prefix is
# $OVSNET_PREFIX (default ovsnet).
set -euo pipefail
umask 077

CONSUL=${CONSUL:-consul}
PREFIX=${OVSNET_PREFIX:-ovsnet}
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/acl" && pwd)

usage() {
  sed -n '5,6p' "$0" | sed 's/^# *//' >&2
  exit 2
}
valid() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "acl.sh: invalid $2 \"$1\"" >&2; exit 2; }; }

case ${1:-} in
  controller)
    [ $# = 3 ] || usage
    node=$2 file=$3 host=""
    valid "$node" "Consul node"
    policy="ovsnet-controller-$node"
    rules=$DIR/controller.hcl
    ;;
  agent)
    [ $# = 4 ] || usage
    host=$2 node=$3 file=$4
    valid "$host" host
    valid "$node" "Consul node"
    policy="ovsnet-agent-$host"
    rules=$DIR/agent.hcl
    ;;
  *) usage ;;
esac
valid "$PREFIX" prefix
[ -e "$file" ] && { echo "acl.sh: $file exists; remove it first (its token stays valid until you delete it in Consul)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@HOST@|$host|g" -e "s|@NODE@|$node|g" "$rules" >"$work/rules.hcl"

if "$CONSUL" acl policy read -name "$policy" >/dev/null 2>&1; then
  "$CONSUL" acl policy update -name "$policy" -rules "@$work/rules.hcl" >/dev/null
  echo "policy $policy updated"
else
  "$CONSUL" acl policy create -name "$policy" -description "ovsnet ${1} ${host:-$node} (deploy/consul/acl.sh)" \
    -rules "@$work/rules.hcl" >/dev/null
  echo "policy $policy created"
fi

secret=$(cat /proc/sys/kernel/random/uuid)
"$CONSUL" acl token create -description "ovsnet ${1} ${host:-$node}" -policy-name "$policy" -secret "$secret" >/dev/null
printf '%s\n' "$secret" >"$file"
echo "token written to $file (CONSUL_HTTP_TOKEN_FILE of the $1)"
