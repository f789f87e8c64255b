//go:build e2e

// Package e2e holds ovsnet's end-to-end tests: real Open vSwitch per
// simulated host, real Consul, the real controller, agents and CLI, on the
// lab of package test/lab. They need root and never skip: run them with
//
//	go test -p 1 -count=1 ./test/e2e/
package e2e
