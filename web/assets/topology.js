// Topology: hosts as columns, networks as color-coded horizontal bands
// with a bus across the hosts they span, endpoints as nodes in their
// host's column, the underlay (VXLAN) along the bottom. Redrawn on every
// live update; endpoints not seen before fade in. Clicking two endpoints
// picks a trace's source and destination.

import { addr, clear, h, natural, networkColor, stateOf, svg } from "./dom.js";
import * as live from "./live.js";

const PAD = 24;
const LABEL_W = 210;
const HOST_H = 66;
const NODE_W = 142;
const NODE_H = 38;
const NODE_GAP = 10;
const BAND_PAD = 16;
const UNDERLAY_H = 34;

export function mountTopology(root) {
  const selection = { from: "", to: "" };
  const selText = h("span", { class: "sel", id: "topo-selection" });
  const traceBtn = h("a", { class: "button primary", id: "topo-trace", href: "#/trace" }, "Trace");
  const resetBtn = h("button", { class: "button", type: "button" }, "Clear");
  const stats = h("span", { class: "sub", id: "topo-stats" });
  const wrap = h("div", { class: "topo-wrap" });
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Topology"), stats),
    h("div", { class: "panel flush" },
      h("div", { class: "topo-toolbar" }, selText, traceBtn, resetBtn,
        h("span", { class: "muted" }, "Click an endpoint for the source, another for the destination.")),
      wrap));

  const seen = new Set();
  let first = true;
  let topo = null;
  const syncSelection = () => {
    clear(selText);
    selText.append("Source: ", h("b", {}, selection.from || "—"), "   Destination: ", h("b", {}, selection.to || "—"));
    const q = new URLSearchParams();
    if (selection.from) q.set("from", selection.from);
    if (selection.to) q.set("to", selection.to);
    traceBtn.setAttribute("href", `#/trace?${q}`);
    traceBtn.classList.toggle("hidden", !(selection.from && selection.to));
    for (const g of wrap.querySelectorAll("g.ep")) {
      g.classList.toggle("selected", g.dataset.endpoint === selection.from || g.dataset.endpoint === selection.to);
    }
  };
  const pick = (ref) => {
    if (!selection.from || (selection.from && selection.to)) {
      selection.from = ref;
      selection.to = "";
    } else if (ref !== selection.from) {
      selection.to = ref;
    }
    syncSelection();
  };
  resetBtn.addEventListener("click", () => { selection.from = selection.to = ""; syncSelection(); });

  const render = () => {
    if (!topo) return;
    const width = Math.max(wrap.clientWidth || 1100, 640);
    clear(wrap).append(draw(topo, width, seen, first, pick));
    first = false;
    stats.textContent = `${topo.hosts.length} hosts · ${topo.networks.length} networks · ${topo.endpoints.length} endpoints`;
    syncSelection();
  };
  const unsub = live.subscribe((t) => { topo = t; render(); });
  const onResize = () => render();
  window.addEventListener("resize", onResize);
  syncSelection();
  return () => { unsub(); window.removeEventListener("resize", onResize); };
}

// draw builds the whole picture.
function draw(t, width, seen, first, pick) {
  const hosts = [...t.hosts].sort((a, b) => natural(a.name, b.name));
  // Hosts that endpoints name but that never registered still get a column.
  for (const e of t.endpoints) {
    if (!hosts.find((x) => x.name === e.host)) hosts.push({ name: e.host, alive: false, tunnelIP: "unregistered" });
  }
  const nets = [...t.networks].sort((a, b) => natural(a.name, b.name));
  const colW = Math.max(NODE_W + 2 * NODE_GAP, (width - 2 * PAD - LABEL_W) / Math.max(hosts.length, 1));
  const perRow = Math.max(1, Math.floor((colW - NODE_GAP) / (NODE_W + NODE_GAP)));
  const colX = (i) => PAD + LABEL_W + i * colW;

  // Rows: one band per network, tall enough for its fullest host cell.
  let y = PAD + HOST_H + 18;
  const rows = nets.map((n) => {
    const cells = hosts.map((x) => t.endpoints.filter((e) => e.networkId === n.id && e.host === x.name)
      .sort((a, b) => natural(a.containerName, b.containerName)));
    const lines = Math.max(1, ...cells.map((c) => Math.ceil(c.length / perRow)));
    const height = BAND_PAD * 2 + 26 + lines * (NODE_H + NODE_GAP);
    const row = { n, cells, y, height };
    y += height + 8;
    return row;
  });
  const underlayY = y + 10;
  const height = underlayY + UNDERLAY_H + PAD;
  const root = svg("svg", { id: "topology", class: "topology", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "img", "aria-label": "Cluster topology" });

  // Host spines down to the underlay.
  hosts.forEach((x, i) => {
    const cx = colX(i) + colW / 2;
    root.append(svg("line", { class: "host-spine", x1: cx, y1: PAD + HOST_H, x2: cx, y2: underlayY }));
  });

  // Network bands.
  rows.forEach((r, ri) => {
    const color = networkColor(r.n);
    root.append(svg("rect", { class: `band${ri % 2 ? " alt" : ""}`, x: PAD, y: r.y, width: width - 2 * PAD, height: r.height, rx: 8 }));
    root.append(svg("rect", { x: PAD, y: r.y, width: 4, height: r.height, rx: 2, fill: color }));
    const label = svg("g", { class: "net-label", "data-network": r.n.name });
    label.append(
      svg("text", { class: "net-name", x: PAD + 16, y: r.y + 24, fill: color }, r.n.name),
      svg("text", { class: "net-sub", x: PAD + 16, y: r.y + 42 }, `${r.n.subnet}${r.n.subnet6 ? " · " + r.n.subnet6 : ""}`),
      svg("text", { class: "net-sub", x: PAD + 16, y: r.y + 58 },
        `VNI ${r.n.vni} · ${r.n.driver}${r.n.internal ? " · internal" : ""}${r.n.driver === "bridge" ? " on " + r.n.host : ""}`));
    const link = svg("a", { href: `#/networks/${encodeURIComponent(r.n.name)}` }, label);
    root.append(link);

    // The bus spans the hosts the network reaches: every host holding one
    // of its endpoints, or the owner of a bridge network.
    const busY = r.y + BAND_PAD + 6;
    const span = hosts.map((x, i) => (r.cells[i].length > 0 || (r.n.driver === "bridge" && r.n.host === x.name)) ? i : -1).filter((i) => i >= 0);
    if (span.length > 0) {
      const x1 = colX(span[0]) + NODE_GAP;
      const x2 = colX(span[span.length - 1]) + colW - NODE_GAP;
      root.append(svg("line", { class: "bus", x1, y1: busY, x2, y2: busY, stroke: color }));
    }
    // Drops first, nodes over them: a node's drop may pass behind the
    // node above it.
    const nodes = [];
    r.cells.forEach((cell, hi) => {
      cell.forEach((e, k) => {
        const nx = colX(hi) + NODE_GAP + (k % perRow) * (NODE_W + NODE_GAP);
        const ny = busY + 20 + Math.floor(k / perRow) * (NODE_H + NODE_GAP);
        root.append(svg("line", { class: "drop", x1: nx + NODE_W / 2, y1: busY, x2: nx + NODE_W / 2, y2: ny, stroke: color }));
        nodes.push(endpointNode(e, r.n, nx, ny, color, !first && !seen.has(e.id), pick));
        seen.add(e.id);
      });
    });
    root.append(...nodes);
  });
  if (rows.length === 0) {
    root.append(svg("text", { class: "net-sub", x: PAD + LABEL_W, y: PAD + HOST_H + 50 }, "No networks yet."));
  }

  // Host headers on top, drawn last so they sit above the spines.
  hosts.forEach((x, i) => {
    const hx = colX(i) + NODE_GAP / 2;
    const g = svg("g", { class: "host", "data-host": x.name });
    g.append(
      svg("rect", { class: `host-box${x.alive ? "" : " down"}`, x: hx, y: PAD, width: colW - NODE_GAP, height: HOST_H, rx: 8 }),
      svg("circle", { cx: hx + 16, cy: PAD + 22, r: 5, fill: x.alive ? "#2fbf71" : "#e5483c" }),
      svg("text", { class: "host-name", x: hx + 28, y: PAD + 27 }, x.name),
      svg("text", { class: "host-sub", x: hx + 16, y: PAD + 47 }, `${x.tunnelIP || ""}${x.version ? " · " + x.version : ""}${x.alive ? "" : " · down"}`));
    root.append(g);
  });

  // The underlay.
  root.append(svg("rect", { class: "underlay", x: PAD, y: underlayY, width: width - 2 * PAD, height: UNDERLAY_H, rx: 8 }));
  root.append(svg("text", { class: "underlay-text", x: PAD + 16, y: underlayY + 22 }, "Underlay · VXLAN over UDP 4789 between hosts' tunnel addresses"));
  return root;
}

function endpointNode(e, n, x, y, color, isNew, pick) {
  const ref = `${e.containerName}@${n.name}`;
  const state = stateOf(e);
  const g = svg("g", { class: `ep${isNew ? " ep-new" : ""}${state === "error" ? " failed" : ""}`,
    "data-endpoint": ref, "data-id": e.id, "data-state": state, transform: `translate(${x},${y})` });
  g.append(
    svg("title", {}, `${ref} on ${e.host}\n${e.ipv4}${e.ipv6 ? "\n" + e.ipv6 : ""}\n${e.mac}\nstatus: ${state}${e.status && e.status.error ? " (" + e.status.error + ")" : ""}`),
    svg("rect", { width: NODE_W, height: NODE_H, rx: 7, stroke: color }),
    svg("circle", { cx: 14, cy: NODE_H / 2, r: 5, fill: state === "ready" ? color : "#fff", stroke: color, "stroke-width": 2 }),
    svg("text", { class: "ep-name", x: 26, y: 16 }, truncate(e.containerName, 17)),
    svg("text", { class: "ep-ip", x: 26, y: 30 }, addr(e.ipv4)));
  g.addEventListener("click", () => pick(ref));
  return g;
}

function truncate(s, n) {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
