// Hosts: every machine running an agent, with its liveness, tunnel
// address, agent version, endpoints, flows and last sync.

import { ago, clear, h, natural, statePill, when } from "./dom.js";
import * as live from "./live.js";

export function mountHosts(root) {
  const tbody = h("tbody");
  const count = h("span", { class: "sub" });
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Hosts"), count),
    h("div", { class: "panel flush" },
      h("table", { class: "data", id: "hosts-table" },
        h("thead", {}, h("tr", {},
          h("th", {}, "Host"), h("th", {}, "Agent"), h("th", {}, "Tunnel IP"), h("th", { class: "num" }, "Underlay MTU"),
          h("th", {}, "Version"), h("th", { class: "num" }, "Endpoints"), h("th", { class: "num" }, "Networks"),
          h("th", { class: "num" }, "Flows"), h("th", {}, "Last sync"), h("th", { class: "num" }, "Generation"), h("th", {}, "Agent started"))),
        tbody)),
    h("p", { class: "muted" }, "A host is alive while its agent holds its Consul session; last sync is when the agent last made the host's Open vSwitch match its state."),
  );
  let topo = null;
  const render = () => {
    if (!topo) return;
    clear(tbody);
    const alive = topo.hosts.filter((x) => x.alive).length;
    count.textContent = `${alive} of ${topo.hosts.length} alive`;
    if (topo.hosts.length === 0) {
      tbody.append(h("tr", {}, h("td", { colspan: 11, class: "empty" }, "No agent has registered a host yet.")));
      return;
    }
    for (const x of [...topo.hosts].sort((a, b) => natural(a.name, b.name))) {
      const eps = topo.endpoints.filter((e) => e.host === x.name);
      const nets = new Set(eps.map((e) => e.networkId));
      const flows = Object.values(x.flows || {}).reduce((s, v) => s + v, 0);
      tbody.append(h("tr", { dataset: { host: x.name } },
        h("td", {}, h("b", {}, x.name)),
        h("td", {}, statePill(x.alive ? "alive" : "down")),
        h("td", { class: "mono" }, x.tunnelIP),
        h("td", { class: "num" }, x.underlayMTU || "—"),
        h("td", { class: "mono" }, x.version || "—"),
        h("td", { class: "num" }, eps.length),
        h("td", { class: "num" }, nets.size),
        h("td", { class: "num mono" }, flows),
        h("td", { title: when(x.lastSync) }, ago(x.lastSync)),
        h("td", { class: "num mono" }, x.generation || 0),
        h("td", { class: "muted", title: when(x.started) }, ago(x.started))));
    }
  };
  const unsub = live.subscribe((t) => { topo = t; render(); });
  // "3s ago" must keep counting between updates.
  const tick = setInterval(render, 1000);
  return () => { unsub(); clearInterval(tick); };
}
