// Trace: why can (or can't) A reach B? The controller has the hosts'
// agents run OVS's ofproto/trace; this page shows the packet's way table
// by table on each host it crosses, and the verdict.

import { addr, clear, h, natural, networkColor } from "./dom.js";
import { api } from "./api.js";
import * as live from "./live.js";

export function mountTrace(root, q) {
  const source = h("select", { id: "trace-source" });
  const dest = h("select", { id: "trace-dest" });
  const proto = h("select", { id: "trace-proto" },
    h("option", { value: "icmp" }, "ICMP echo"), h("option", { value: "tcp" }, "TCP"), h("option", { value: "udp" }, "UDP"));
  const port = h("input", { type: "number", id: "trace-port", value: "80", min: "1", max: "65535" });
  const ipv6 = h("input", { type: "checkbox", id: "trace-ipv6" });
  const run = h("button", { class: "button primary", id: "trace-run", type: "submit" }, "Trace");
  const error = h("p", { class: "form-error", id: "trace-error", role: "alert" });
  const result = h("div", { id: "trace-result" });
  const field = (label, input, id) => h("div", { class: "field", id }, h("label", {}, label), input);
  const portField = field("Port", port, "trace-port-field");
  const form = h("form", { class: "panel", id: "trace-form" },
    h("div", { class: "trace-form" },
      field("Source endpoint", source), field("Destination endpoint", dest),
      field("Protocol", proto), portField,
      h("div", { class: "field" }, h("label", { class: "check" }, ipv6, "IPv6"), run)),
    error);
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Trace"),
      h("span", { class: "sub" }, "Follows one packet through the real OpenFlow tables of each host, with OVS's ofproto/trace.")),
    form, result);

  const syncPort = () => portField.classList.toggle("hidden", proto.value === "icmp");
  proto.addEventListener("change", syncPort);
  syncPort();

  let wanted = { from: q.get("from") || "", to: q.get("to") || "" };
  const preferNet = q.get("network") || "";
  let autorun = !!(wanted.from && wanted.to);
  const unsub = live.subscribe((t) => {
    fillSelect(source, t, wanted.from || source.value, preferNet);
    fillSelect(dest, t, wanted.to || dest.value, preferNet, source.value);
    wanted = { from: "", to: "" };
    if (autorun) {
      autorun = false;
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    if (!source.value || !dest.value) {
      error.textContent = "Pick a source and a destination endpoint.";
      return;
    }
    run.disabled = true;
    clear(result).append(h("div", { class: "panel empty" }, `Tracing ${source.value} → ${dest.value}…`));
    const req = { source: source.value, destination: dest.value, protocol: proto.value, ipv6: ipv6.checked };
    if (proto.value !== "icmp") req.port = Number(port.value) || 80;
    try {
      const tr = await api.post("/ovsnet/v1/traces", req);
      clear(result).append(renderTrace(tr, live.latest()));
      history.replaceState(null, "", `#/trace?${new URLSearchParams({ from: source.value, to: dest.value })}`);
    } catch (err) {
      clear(result);
      error.textContent = err.message;
    } finally {
      run.disabled = false;
    }
  });
  return unsub;
}

// fillSelect lists every endpoint, grouped by network, keeping the choice.
function fillSelect(sel, t, want, preferNet, exclude) {
  const keep = want || sel.value;
  clear(sel);
  sel.append(h("option", { value: "" }, "— choose —"));
  const nets = [...t.networks].sort((a, b) => natural(a.name, b.name));
  let firstPreferred = "";
  for (const n of nets) {
    const eps = t.endpoints.filter((e) => e.networkId === n.id).sort((a, b) => natural(a.containerName, b.containerName));
    if (eps.length === 0) continue;
    const group = h("optgroup", { label: `${n.name} (${n.subnet})` });
    for (const e of eps) {
      const ref = `${e.containerName}@${n.name}`;
      group.append(h("option", { value: ref }, `${e.containerName} — ${addr(e.ipv4)} on ${e.host}`));
      if (n.name === preferNet && ref !== exclude && !firstPreferred) firstPreferred = ref;
    }
    sel.append(group);
  }
  sel.value = keep || firstPreferred || "";
  if (sel.value !== (keep || firstPreferred || "")) sel.value = "";
}

function renderTrace(tr, topo) {
  const out = h("div");
  const v = tr.verdict;
  out.append(h("div", { class: "verdict", id: "trace-verdict", dataset: { kind: v.kind, table: v.table || "" } },
    h("span", { class: "kind" }, v.kind),
    h("div", {},
      h("div", { class: "summary", id: "trace-summary" }, v.summary),
      h("div", { class: "packet" }, `${tr.packet} · ${tr.source.description} → ${tr.destination.description} · traced in ${tr.duration}`))));
  const net = topo && topo.networks.find((n) => n.id === tr.source.networkId);
  tr.hops.forEach((hop, i) => {
    if (i > 0) out.append(h("div", { class: "tunnel-arrow" }, `VXLAN tunnel to ${hop.host}`));
    out.append(renderHop(hop, i === tr.hops.length - 1 ? v : null, net));
  });
  return out;
}

function renderHop(hop, verdict, net) {
  const steps = hop.result.steps || [];
  const integration = steps.length ? steps[0].bridge : "";
  // The step that decided the verdict: the last one on the integration bridge.
  let lastIdx = -1;
  steps.forEach((s, i) => { if (s.bridge === integration) lastIdx = i; });
  const list = h("ol", { class: "steps" });
  steps.forEach((s, i) => {
    const acts = (s.actions || []).map((a) => h("span", {
      class: `act${a === "drop" ? " drop" : /^output:|IN_PORT/.test(a) ? " out" : ""}` }, a));
    const li = h("li", {
      class: `step${s.bridge !== integration ? " other-bridge" : ""}${verdict && verdict.kind === "dropped" && i === lastIdx ? " verdict-step" : ""}`,
      dataset: { table: s.tableName || `${s.bridge}:${s.table}` } },
      h("div", { class: "table" },
        h("span", { class: "tname" }, s.tableName || `${s.bridge}`),
        h("span", { class: "tid" }, `table ${s.table}${s.noMatch ? "" : ` · priority ${s.priority}`}`)),
      h("div", {},
        s.tableDoc ? h("div", { class: "doc" }, s.tableDoc) : null,
        h("div", { class: "flow" }, s.noMatch ? "no flow matched" : (s.match || "(any packet)") + (s.cookie ? `  cookie ${s.cookie}` : "")),
        acts.length ? h("div", { class: "acts" }, acts) : null,
        (s.notes || []).map((n) => h("div", { class: "note" }, `→ ${n}`))));
    list.append(li);
  });
  const head = h("div", { class: "hop-head" },
    net ? h("span", { class: "swatch", color: networkColor(net) }) : null,
    h("span", { class: "host" }, hop.host), h("span", { class: "ingress" }, `in through ${hop.ingress}`));
  return h("div", { class: "panel flush hop", dataset: { host: hop.host } },
    head, list,
    h("div", { class: "outcome" }, `→ ${hop.outcome}`, h("br"), h("span", { class: "muted" }, "datapath actions: "),
      h("code", {}, hop.result.datapathActions || "")),
    h("details", { class: "raw" }, h("summary", {}, "ofproto/trace output"),
      h("pre", {}, `$ ovs-appctl ofproto/trace br-int ${hop.result.flow}\n\n${hop.result.output}`)));
}
