# Consul ACL policy of an ovsnet controller (docs/security.md).
#
# Placeholders, replaced by deploy/consul/acl.sh (or by hand):
#   @PREFIX@  ovsnet's KV prefix (the daemons' -prefix, default "ovsnet")
#   @NODE@    the Consul node (client agent) this controller talks to
#
# The controllers own the intent: everything under the prefix. The leader
# lock is a session on the controller's local Consul agent, bound to a TTL
# check the controller registers there and keeps passing (its heartbeat),
# hence session and node write on that node.

key_prefix "@PREFIX@/" {
  policy = "write"
}

session "@NODE@" {
  policy = "write"
}

node "@NODE@" {
  policy = "write"
}

# Sessions are checked against the node's health checks (serfHealth).
node_prefix "" {
  policy = "read"
}
