# Example Consul *client* agent configuration for ovsnet: every controller
# machine and every container host runs one, and the ovsnet daemons talk to
# it on 127.0.0.1:8500. Copy to /etc/consul.d/client.hcl and change the
# marked lines; keep datacenter, encrypt, retry_join and the acl block equal
# to the servers' (server.hcl). docs/install.md, docs/security.md.

datacenter = "dc1"
node_name  = "node1"               # CHANGE: unique per machine (its host name)
data_dir   = "/var/lib/consul"

server = false

# The address the servers and the other agents reach this one on.
bind_addr   = "10.10.0.21"         # CHANGE: this machine's address
# The HTTP API on loopback only: the ovsnet daemons are local.
client_addr = "127.0.0.1"

# The three servers; retried until they answer.
retry_join = ["10.10.0.11", "10.10.0.12", "10.10.0.13"]

# The servers' gossip key (consul keygen, once for the cluster).
encrypt = "REPLACE-WITH-consul-keygen-OUTPUT"

# ovsnet needs only the HTTP API: no DNS, no gRPC.
ports {
  dns  = -1
  grpc = -1
}

disable_update_check = true

# ACLs as on the servers. This agent's own token (node write for its name)
# goes in acl.tokens.agent; the ovsnet daemons have tokens of their own
# (CONSUL_HTTP_TOKEN_FILE in /etc/default/ovsnet-*), see docs/security.md.
acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true
  tokens {
    agent = "REPLACE-WITH-THIS-NODE'S-AGENT-TOKEN"
  }
}
