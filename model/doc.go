// Package model holds ovsnet's intent types (Network, Endpoint, Host), their
// validation, address management (IPAM) and the JSON shapes shared by the
// controller, the agent and the command-line client.
//
// It is pure: nothing here touches Open vSwitch, Consul, the network or the
// clock except through values passed in.
package model
