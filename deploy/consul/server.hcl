# Example Consul server configuration for ovsnet: one of THREE servers.
# Copy to /etc/consul.d/server.hcl on each server and change the marked
# lines. Three servers tolerate the loss of one; ovsnet keeps all of its
# shared state here (networks, endpoints, compiled host state, the
# controllers' leader lock), so run Consul as a real cluster, never -dev.
#
# Every other machine (ovsnet hosts, controller machines) runs a Consul
# *client* agent with the same datacenter, data_dir, encrypt, retry_join and
# acl blocks, but server = false and no bootstrap_expect; ovsnet-agent and
# ovsnet-controller then talk to it on 127.0.0.1:8500.
#
# ovsnet is tested against Consul 1.14.11 (deploy/consul/build.sh builds it).

datacenter = "dc1"
node_name  = "consul-1"            # CHANGE: unique per server
data_dir   = "/var/lib/consul"

server           = true
bootstrap_expect = 3               # wait for 3 servers before electing a leader

# The address the other servers and clients reach this one on.
bind_addr   = "10.10.0.11"         # CHANGE: this server's address
# The HTTP API: loopback only; clients on other machines use their local agent.
client_addr = "127.0.0.1"

# All three servers (this one included is fine); retried until they answer.
retry_join = ["10.10.0.11", "10.10.0.12", "10.10.0.13"]

# Gossip encryption: generate once with `consul keygen`, same on every node.
encrypt = "REPLACE-WITH-consul-keygen-OUTPUT"

# ovsnet uses only the HTTP API (KV, sessions, transactions): DNS and gRPC
# can stay off. Keep 8300-8302 (server RPC, serf LAN/WAN) open between nodes.
ports {
  dns  = -1
  grpc = -1
}

# HashiCorp's production setting: the fastest leader failure detection.
# ovsnet's controllers elect their leader on a 10 s Consul session, so a
# quick Consul failover keeps writes unavailable for only seconds.
performance {
  raft_multiplier = 1
}

ui_config {
  enabled = false
}

# No calls home.
disable_update_check = true

# ACLs, default deny. Bootstrap once with `consul acl bootstrap`, then give
# every ovsnet daemon a token of its own, made by deploy/consul/acl.sh from
# the policies in deploy/consul/acl/: the controllers' may write everything
# under the prefix; each agent's only its own host's records. The daemons
# read it from CONSUL_HTTP_TOKEN_FILE (/etc/default/ovsnet-agent,
# /etc/default/ovsnet-controller). docs/security.md.
#
# Client agents also need their own agent token (node write for their name).
acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true
}
