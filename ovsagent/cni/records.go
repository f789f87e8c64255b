package cni

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// record is one attachment the plugin made on this host. The controller
// holds the endpoint; the record says that a CNI runtime owns it, which
// GC needs (only the runtime's own attachments are its to collect) and
// which outlives an agent restart.
type record struct {
	// ContainerID and IfName identify the attachment, as the runtime does.
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
	NetworkID   string `json:"networkID"`
	Network     string `json:"network"`
	// EndpointID is empty while the ADD is under way: an agent stopped
	// then leaves a record GC can still find the endpoint by.
	EndpointID string    `json:"endpointID,omitempty"`
	Netns      string    `json:"netns"`
	Created    time.Time `json:"created"`
}

// badRecordsError is a records file that does not decode.
type badRecordsError struct {
	path string
	err  error
}

func (e *badRecordsError) Error() string { return fmt.Sprintf("CNI attachments %s: %v", e.path, e.err) }
func (e *badRecordsError) Unwrap() error { return e.err }

func (r record) key() string { return attachmentKey(r.NetworkID, r.ContainerID, r.IfName) }

func attachmentKey(networkID, containerID, ifname string) string {
	return networkID + "/" + containerID + "/" + ifname
}

// records are the attachments, kept in a file of the agent's state dir
// (written whole, atomically: there are as many as containers on the host).
type records struct {
	path string
	mu   sync.Mutex
	m    map[string]record
}

func loadRecords(path string) (*records, error) {
	r := &records{path: path, m: map[string]record{}}
	if path == "" {
		return r, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("CNI attachments: %w", err)
	}
	var list []record
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, &badRecordsError{path: path, err: err}
	}
	for _, rec := range list {
		r.m[rec.key()] = rec
	}
	return r, nil
}

func (r *records) get(key string) (record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.m[key]
	return rec, ok
}

func (r *records) put(rec record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[rec.key()] = rec
	return r.saveLocked()
}

func (r *records) remove(key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[key]; !ok {
		return nil
	}
	delete(r.m, key)
	return r.saveLocked()
}

// matching lists the records for which keep returns true, oldest first.
func (r *records) matching(keep func(record) bool) []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []record
	for _, rec := range r.m {
		if keep(rec) {
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

func (r *records) saveLocked() error {
	if r.path == "" {
		return nil
	}
	list := make([]record, 0, len(r.m))
	for _, rec := range r.m {
		list = append(list, rec)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].key() < list[j].key() })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return fmt.Errorf("CNI attachments: %w", err)
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("CNI attachments: %w", err)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		return fmt.Errorf("CNI attachments: %w", err)
	}
	return nil
}

// keyedMutex serialises the operations on one attachment; different
// attachments proceed in parallel.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu      sync.Mutex
	waiters int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.waiters++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.waiters--; e.waiters == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
