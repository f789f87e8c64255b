// Package controller is ovsnet's control plane: the REST API (Docker Engine
// API shapes for networks, ovsnet's own resources under /ovsnet/v1/), the
// Consul-backed store of intent, leader election among replicas, and the
// compiler that publishes each host's state for its agent.
//
// The controller never touches Open vSwitch; agents do (package ovsagent).
package controller
