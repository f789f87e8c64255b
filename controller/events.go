package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// The web UI follows the cluster live: /ovsnet/v1/events is a stream of
// server-sent events, one "topology" event with the whole picture at once
// and again after every change.
// /ovsnet/v1/topology is the same picture for one GET.

const eventsRoute = "/ovsnet/v1/events"

// Bounds of one event stream. Browsers reconnect by themselves (after
// the retry delay), so a stream can end at any time: ending it now and
// then bounds how long a forgotten client holds a connection.
const (
	eventStreamLife  = 10 * time.Minute
	eventKeepalive   = 15 * time.Second
	eventMinInterval = 200 * time.Millisecond // changes within this coalesce
	eventPoll        = 2 * time.Second        // agents' reports are read this often
	eventRetryMillis = 2000
	// maxEventStreams bounds the streams one replica serves at once.
	maxEventStreams = 64
)

// Topology is everything the UI draws: networks, hosts and endpoints with
// their agents' reports, at one Consul index.
type Topology struct {
	Index     uint64               `json:"index"`
	Leader    bool                 `json:"leader"`
	Version   string               `json:"version"`
	Consul    string               `json:"consul"` // "ok", or why the last read failed
	Networks  []model.Network      `json:"networks"`
	Hosts     []model.Host         `json:"hosts"`
	Endpoints []model.EndpointView `json:"endpoints"`
}

func (c *Controller) topologyOf(sn *Snapshot) Topology {
	t := Topology{Index: sn.Index, Leader: c.IsLeader(), Version: Version, Consul: "ok",
		Networks: sn.Networks, Hosts: sn.Hosts, Endpoints: []model.EndpointView{}}
	if err := c.healthy(); err != nil {
		t.Consul = err.Error()
	}
	if t.Networks == nil {
		t.Networks = []model.Network{}
	}
	if t.Hosts == nil {
		t.Hosts = []model.Host{}
	}
	for _, ep := range sn.Endpoints {
		t.Endpoints = append(t.Endpoints, *sn.view(ep))
	}
	return t
}

// topology builds the UI's picture: the intent with agents' reports.
func (c *Controller) topology(ctx context.Context) (Topology, error) {
	sn, err := c.snapshot(ctx, viewStatuses|viewHostStats)
	if err != nil && sn == nil {
		return Topology{}, err
	}
	return c.topologyOf(sn), nil
}

func (c *Controller) topologyHandler(w http.ResponseWriter, r *http.Request) {
	t, err := c.topology(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// eventsHandler streams the topology: at once, then after every change of
// the intent and, for agents' reports (which nothing watches), at most
// every eventPoll when they changed; at most one event per
// eventMinInterval, and a comment line as keepalive.
func (c *Controller) eventsHandler(w http.ResponseWriter, r *http.Request) {
	if n := c.streams.Add(1); n > maxEventStreams {
		c.streams.Add(-1)
		writeError(w, errorf(ErrUnavailable, "too many event streams open (%d): try again later", maxEventStreams))
		return
	}
	defer c.streams.Add(-1)
	rc := http.NewResponseController(w)
	// The server's write timeout is for requests; a stream extends its own
	// deadline with every write (a keepalive at least every 15 s).
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(2 * eventKeepalive)) }
	extend()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // no proxy buffering
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", eventRetryMillis); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		c.log.Warn("event stream: cannot flush", "err", err)
		return
	}
	end := time.NewTimer(eventStreamLife)
	defer end.Stop()
	keepalive := time.NewTicker(eventKeepalive)
	defer keepalive.Stop()
	poll := time.NewTicker(eventPoll)
	defer poll.Stop()
	var last []byte
	var seq uint64
	for {
		c.mu.RLock()
		changed := c.changed
		c.mu.RUnlock()
		t, err := c.topology(r.Context())
		if err == nil {
			b, err := json.Marshal(t)
			if err != nil {
				c.log.Error("event stream: encode topology", "err", err)
				return
			}
			if !bytes.Equal(b, last) {
				seq++
				extend()
				if _, err := fmt.Fprintf(w, "event: topology\nid: %d\ndata: %s\n\n", seq, b); err != nil {
					return
				}
				if err := rc.Flush(); err != nil {
					return
				}
				last = b
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-keepalive.C:
			extend()
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			continue
		case <-changed:
		case <-poll.C:
		}
		// Coalesce bursts (a connect changes several records).
		select {
		case <-time.After(eventMinInterval):
		case <-r.Context().Done():
			return
		}
	}
}
