package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Records of the contract that are not model types (those are stored as
// their JSON).

// CatalogEvent is one slot of the catalog ring: network NetworkID was
// created, changed or removed at sequence number Seq. Agents that mirror
// every network (Docker, DNS) follow the ring instead of re-reading all
// networks on every change; one that falls more than CatalogSlots behind
// reads them all again.
type CatalogEvent struct {
	Seq       uint64 `json:"seq"`
	NetworkID string `json:"network"`
	Removed   bool   `json:"removed,omitempty"`
}

// CatalogSlots is the size of the catalog ring.
const CatalogSlots = 32

// EndpointChange is one slot of a network's change ring: endpoint Endpoint
// was created, changed or removed at the network's sequence number Seq.
// Agents holding the network follow the ring and read only the endpoints
// it names, so a change costs them what it changed, however large the
// network; one that falls more than ChangeSlots behind (or finds the ring
// gone) reads all the network's endpoints again.
type EndpointChange struct {
	Seq      uint64 `json:"seq"`
	Endpoint string `json:"endpoint"`
	Removed  bool   `json:"removed,omitempty"`
}

// ChangeSlots is the size of each network's change ring.
const ChangeSlots = 32

// Applied is what a host reports per network: the index of that network's
// endpoint records it has applied, and how many flows it holds for it.
type Applied struct {
	Index uint64 `json:"index"`
	Flows int    `json:"flows"`
}

// HostStats is what a host reports about itself now and then; nothing
// watches it, readers fetch it when they show it.
type HostStats struct {
	LastSync time.Time `json:"lastSync"`
	// Flows is the number of OpenFlow flows the agent holds.
	Flows int `json:"flows"`
	// Networks is how many networks the host holds.
	Networks int `json:"networks"`
}

// Leader is the value of the leader lock: who leads and where to reach it.
type Leader struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
}

// Address holders: what an alloc/ipam key's value says.
const (
	// holderReserved starts a reservation made for Docker's IPAM:
	// "reserved:<host>:<unix time>".
	holderReserved = "reserved:"
	// holderAux starts an auxiliary address of a network: "aux:<name>".
	holderAux = "aux:"
)

// ReservedHolder is the holder value of a reservation made by host now.
func ReservedHolder(host string, now time.Time) string {
	return fmt.Sprintf("%s%s:%d", holderReserved, host, now.Unix())
}

// AuxHolder is the holder value of an auxiliary address.
func AuxHolder(name string) string { return holderAux + name }

// ParseReservation reads a reservation holder; ok is false for any other.
func ParseReservation(holder string) (host string, at time.Time, ok bool) {
	rest, found := strings.CutPrefix(holder, holderReserved)
	if !found {
		return "", time.Time{}, false
	}
	host, ts, found := strings.Cut(rest, ":")
	if !found {
		return "", time.Time{}, false
	}
	var sec int64
	if _, err := fmt.Sscan(ts, &sec); err != nil {
		return "", time.Time{}, false
	}
	return host, time.Unix(sec, 0), true
}

// encode marshals a record.
func encode(key string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", key, err)
	}
	return b, nil
}

// Decode unmarshals a record read from key.
func Decode(p Pair, v any) error {
	if err := json.Unmarshal(p.Value, v); err != nil {
		return fmt.Errorf("record %s: %w", p.Key, err)
	}
	return nil
}
