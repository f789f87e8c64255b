package controller

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// PruneResponse is the reply to POST /networks/prune (Docker's shape).
type PruneResponse struct {
	NetworksDeleted []string `json:"NetworksDeleted"`
}

// pruneNetworks is Docker's POST /networks/prune: every network without an
// endpoint on any host, matching the filters (label, label!, until), is
// removed. A network someone connects to meanwhile is refused by the
// removal's own guard and kept.
func (c *Controller) pruneNetworks(w http.ResponseWriter, r *http.Request) {
	f, err := filters(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	deleted, err := c.Prune(r.Context(), f, time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, PruneResponse{NetworksDeleted: deleted})
}

// Prune removes the unused networks matching Docker's prune filters and
// returns their names.
func (c *Controller) Prune(ctx context.Context, f map[string][]string, now time.Time) ([]string, error) {
	match, err := pruneFilter(f, now)
	if err != nil {
		return nil, err
	}
	type candidate struct{ id, name string }
	var unused []candidate
	err = c.read(func(s *state) error {
		for _, n := range s.sortedNetworks() {
			if len(s.endpointsOf(n.ID)) == 0 && match(&n) {
				unused = append(unused, candidate{n.ID, n.Name})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	deleted := []string{}
	for _, n := range unused {
		err := c.RemoveNetwork(ctx, n.id)
		switch {
		case err == nil:
			deleted = append(deleted, n.name)
		case errors.Is(err, ErrForbidden), errors.Is(err, ErrNotFound):
			// Connected to, or removed, since it was listed.
		default:
			return deleted, err
		}
	}
	if len(deleted) > 0 {
		c.log.Info("networks pruned", "networks", strings.Join(deleted, ","))
	}
	return deleted, nil
}

// pruneFilter builds the predicate of Docker's prune filters: label=KEY or
// label=KEY=VALUE (all must match), label!=... (none may match) and until=
// (a duration before now, an RFC 3339 time or Unix seconds: networks
// created before it).
func pruneFilter(f map[string][]string, now time.Time) (func(*model.Network) bool, error) {
	var until time.Time
	for key, values := range f {
		switch key {
		case "label", "label!":
		case "until":
			if len(values) != 1 {
				return nil, errorf(ErrInvalid, "filter until: give one value, not %d", len(values))
			}
			t, err := parseUntil(values[0], now)
			if err != nil {
				return nil, err
			}
			until = t
		default:
			return nil, errorf(ErrInvalid, "invalid filter '%s': prune filters are label, label! and until", key)
		}
	}
	hasLabel := func(n *model.Network, v string) bool {
		key, value, withValue := strings.Cut(v, "=")
		got, ok := n.Labels[key]
		return ok && (!withValue || got == value)
	}
	return func(n *model.Network) bool {
		for _, v := range f["label"] {
			if !hasLabel(n, v) {
				return false
			}
		}
		for _, v := range f["label!"] {
			if hasLabel(n, v) {
				return false
			}
		}
		return until.IsZero() || n.Created.Before(until)
	}, nil
}

// parseUntil reads Docker's until value: "24h" (before now), RFC 3339, or
// Unix seconds.
func parseUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, errorf(ErrInvalid, "filter until=%s: want a duration (24h), an RFC 3339 time or Unix seconds", v)
}
