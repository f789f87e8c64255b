// The live picture of the cluster. The controller pushes the whole
// topology as server-sent events (/ovsnet/v1/events) now and after every
// change. The stream is read with fetch, not EventSource, so that it can
// carry the token (EventSource sends no headers); if the stream cannot be
// held (a proxy that buffers, say), the page falls back to polling
// /ovsnet/v1/topology.

import { api, authorizedFetch } from "./api.js";

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
  if (!(window.ReadableStream && window.TextDecoderStream)) {
    poll();
    return;
  }
  source = { stop: false };
  stream(source);
}

// stream reads the event stream, reconnecting after the server's retry
// delay when it ends; after repeated failures it gives way to polling.
async function stream(handle) {
  let retry = 2000;
  while (!handle.stop) {
    let opened = false;
    try {
      const resp = await authorizedFetch("/ovsnet/v1/events", { headers: { "Accept": "text/event-stream" }, cache: "no-store" });
      if (!resp.ok || !resp.body) throw new Error(`${resp.status} ${resp.statusText}`);
      opened = true;
      setLive("live", "live");
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const ev = parseEvent(buf.slice(0, end));
          buf = buf.slice(end + 2);
          if (ev.retry) retry = ev.retry;
          if (ev.event === "topology" && ev.data) {
            failures = 0;
            publish(JSON.parse(ev.data));
          }
        }
      }
    } catch (e) {
      // counted below
    }
    if (handle.stop) return;
    failures = opened ? 0 : failures + 1;
    setLive("connecting", "reconnecting…");
    if (failures >= 5) {
      source = null;
      poll();
      return;
    }
    await new Promise((r) => setTimeout(r, retry));
  }
}

// parseEvent reads one server-sent event: "field: value" lines; data
// lines join with newlines; comments (":") are keepalives.
function parseEvent(block) {
  const ev = { event: "message", data: "", retry: 0 };
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? "" : line.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") ev.event = value;
    else if (field === "data") data.push(value);
    else if (field === "retry" && /^\d+$/.test(value)) ev.retry = Number(value);
  }
  ev.data = data.join("\n");
  return ev;
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
