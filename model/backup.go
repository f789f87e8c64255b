package model

import (
	"net/netip"
	"time"
)

// BackupVersion is the format of Backup this release writes and reads.
const BackupVersion = 1

// Backup is the whole intent of a cluster: what `ovsnetctl backup` saves
// and `ovsnetctl restore` brings back, so that a wiped or rebuilt Consul
// does not renumber a single container. Agents' reports are not in it:
// agents write them again.
type Backup struct {
	Version   int        `json:"version"`
	Created   time.Time  `json:"created"`
	Networks  []Network  `json:"networks"`
	Endpoints []Endpoint `json:"endpoints"`
	// Addresses are those held by something else than an endpoint: Docker
	// reservations and auxiliary addresses.
	Addresses []HeldAddress `json:"addresses,omitempty"`
	// Pools are the default pools networks were given (not chosen by the
	// user), by network id.
	Pools map[string]netip.Prefix `json:"pools,omitempty"`
}

// HeldAddress is an address of a network held by a reservation or an
// auxiliary address.
type HeldAddress struct {
	Network string     `json:"network"`
	Address netip.Addr `json:"address"`
	Holder  string     `json:"holder"`
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	Networks  int `json:"networks"`
	Endpoints int `json:"endpoints"`
	Addresses int `json:"addresses"`
	// Skipped are records that were there already, exactly as saved.
	Skipped int `json:"skipped"`
}
