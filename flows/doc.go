// Package flows compiles one host's share of the cluster's intent
// (model.HostState) into what that host's Open vSwitch must hold: the OVSDB
// ports of the integration bridge and the OpenFlow flows of its pipeline.
//
// Everything here is a pure function of its inputs. The agent (ovsagent)
// reads actual state, calls these functions for the desired state and applies
// the difference. The pipeline is declared once, in tables.go, and explained
// table by table in docs/pipeline.md.
package flows
