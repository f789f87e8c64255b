// The live picture of the cluster. The controller pushes the whole
// topology as server-sent events (/ovsnet/v1/events) now and after every
// change; if the stream cannot be held (a proxy that buffers, say), the
// page falls back to polling /ovsnet/v1/topology.

import { api } from "./api.js";

const listeners = new Set();
let current = null;
let source = null;
let pollTimer = 0;
let failures = 0;

function setLive(state, text) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = text;
}

function publish(topology) {
  current = topology;
  failures = 0;
  const info = document.getElementById("cluster-info");
  if (info) {
    info.textContent = `controller ${topology.version}${topology.leader ? " · leader" : ""}` +
      (topology.consul !== "ok" ? " · Consul unreachable" : "");
  }
  for (const f of listeners) {
    try { f(topology); } catch (e) { console.error("live update failed", e); }
  }
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    publish(await api.get("/ovsnet/v1/topology"));
    setLive("polling", "polling");
  } catch (e) {
    setLive("down", "controller unreachable");
  }
  pollTimer = setTimeout(poll, 3000);
}

export function start() {
  if (source || pollTimer) return;
  if (!("EventSource" in window)) {
    poll();
    return;
  }
  source = new EventSource("/ovsnet/v1/events");
  source.addEventListener("topology", (ev) => {
    setLive("live", "live");
    publish(JSON.parse(ev.data));
  });
  source.addEventListener("open", () => setLive("live", "live"));
  source.addEventListener("error", () => {
    failures++;
    setLive("connecting", "reconnecting…");
    // EventSource retries by itself; after repeated failures, poll.
    if (failures >= 5) {
      source.close();
      source = null;
      poll();
    }
  });
}

// subscribe calls f with every new topology (and now, if one is known).
// It returns the function that unsubscribes.
export function subscribe(f) {
  listeners.add(f);
  if (current) f(current);
  return () => listeners.delete(f);
}

export function latest() {
  return current;
}

// refresh fetches the topology now (after a change made from this page,
// so it shows before the event arrives).
export async function refresh() {
  try {
    publish(await api.get("/ovsnet/v1/topology"));
  } catch (e) {
    // The event stream will bring it.
  }
}
