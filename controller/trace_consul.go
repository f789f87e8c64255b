package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Traces run on the hosts, and the controller may not reach the agents
// (each host is its own network namespace, or behind a firewall): it asks
// through Consul, which both sides reach. It writes a request key, the
// host's agent (ovsagent/tracer.Tracer) answers under the results prefix, and the
// controller removes both once it has the answer or gives up.
//
//	trace/requests/<host>/<id>   model.TraceSpec, written by the controller
//	trace/results/<host>/<id>    model.HostTrace, written by the agent
//
// (store.Keys spells them.)

// traceHostTimeout bounds the wait for one host's answer. ofproto/trace
// takes milliseconds; an agent that has not answered in this long is down
// or runs without trace support.
// (A variable for tests.)
var traceHostTimeout = 10 * time.Second

// hostTrace has host's agent trace flow and returns its answer.
func (c *Controller) hostTrace(ctx context.Context, host, flow string) (model.HostTrace, error) {
	spec := model.TraceSpec{ID: newID()[:16], Flow: flow, Created: time.Now().UTC()}
	reqKey := c.st.K.TraceRequest(host, spec.ID)
	resKey := c.st.K.TraceResult(host, spec.ID)
	if err := c.st.Put(ctx, reqKey, spec); err != nil {
		if ctx.Err() != nil {
			return model.HostTrace{}, ctx.Err()
		}
		return model.HostTrace{}, c.unavailable(err)
	}
	defer func() {
		// Whatever happened, leave nothing behind (a late answer is
		// removed by the agent's own clean-up of old results).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.st.Delete(cctx, reqKey)
		_ = c.st.Delete(cctx, resKey)
	}()

	deadline := time.Now().Add(traceHostTimeout)
	var index uint64
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return model.HostTrace{}, errorf(ErrTimeout, "the ovsnet agent on host %s did not answer the trace within %s (is it running, with -trace enabled?)", host, traceHostTimeout)
		}
		pair, lastIndex, err := c.st.B.Get(ctx, resKey, store.Query{WaitIndex: index, WaitTime: wait})
		if err != nil {
			if ctx.Err() != nil {
				return model.HostTrace{}, ctx.Err()
			}
			return model.HostTrace{}, c.unavailable(err)
		}
		if pair != nil {
			var res model.HostTrace
			if err := json.Unmarshal(pair.Value, &res); err != nil {
				return model.HostTrace{}, fmt.Errorf("host %s answered the trace with garbage: %w", host, err)
			}
			if res.Error != "" {
				return res, errorf(ErrUnavailable, "host %s could not trace: %s", host, res.Error)
			}
			return res, nil
		}
		if lastIndex < index {
			index = 0 // Consul's index went backwards: start over
		} else {
			index = lastIndex
		}
	}
}
