# Consul ACL policy of the ovsnet agent of one host (docs/security.md).
#
# Placeholders, replaced by deploy/consul/acl.sh (or by hand):
#   @PREFIX@  ovsnet's KV prefix (the daemons' -prefix, default "ovsnet")
#   @HOST@    the host's name in ovsnet (the agent's -host)
#   @NODE@    the Consul node (client agent) this agent talks to
#
# An agent writes only its own host's records: its liveness, its reports
# and its trace answers. It reads what its host needs: the networks, their
# endpoints and change rings, the catalog, and its own placement. It can
# write nothing of the intent, nor another host's records. `key` rules are
# exact keys; `key_prefix` rules end with "/" so that host h1 does not
# match h10.

# Liveness: the host record, held by the agent's session.
key "@PREFIX@/hosts/@HOST@" {
  policy = "write"
}

session "@NODE@" {
  policy = "write"
}

# Reports.
key "@PREFIX@/stats/@HOST@" {
  policy = "write"
}

key_prefix "@PREFIX@/status/@HOST@/" {
  policy = "write"
}

key_prefix "@PREFIX@/applied/@HOST@/" {
  policy = "write"
}

# Traces: the agent answers the requests for its host and removes them.
key_prefix "@PREFIX@/trace/requests/@HOST@/" {
  policy = "write"
}

key_prefix "@PREFIX@/trace/results/@HOST@/" {
  policy = "write"
}

# What the host needs to know.
key_prefix "@PREFIX@/placement/@HOST@/" {
  policy = "read"
}

key_prefix "@PREFIX@/networks/" {
  policy = "read"
}

key_prefix "@PREFIX@/endpoints/" {
  policy = "read"
}

key_prefix "@PREFIX@/changes/" {
  policy = "read"
}

key_prefix "@PREFIX@/catalog/" {
  policy = "read"
}
