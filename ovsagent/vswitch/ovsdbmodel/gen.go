// Package ovsdbmodel holds the libovsdb models of the Open_vSwitch database,
// generated from the schema copy beside this file (OVS 3.1, schema 8.3.1) so
// the build does not depend on what is installed.
package ovsdbmodel

//go:generate go run github.com/ovn-org/libovsdb/cmd/modelgen -p ovsdbmodel -o . vswitch.ovsschema
