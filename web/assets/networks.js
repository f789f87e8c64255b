// Networks: the list, the create form (every option Docker's CLI has),
// and one network's page (endpoints per host, VNI, MTU, OVS footprint).

import { ago, clear, h, natural, networkColor, shortId, stateOf, statePill, toast, when } from "./dom.js";
import { api, ApiError } from "./api.js";
import * as live from "./live.js";

// Fields of the create form. Their names are the `field` the controller
// puts in an error about them.
const FIELDS = ["name", "driver", "host", "subnet", "gateway", "ipRange", "subnet6", "gateway6", "mtu"];

function kindBadges(n) {
  return [
    h("span", { class: `badge ${n.driver}` }, n.driver),
    n.internal ? h("span", { class: "badge internal" }, "internal") : null,
    n.enableIPv6 ? h("span", { class: "badge ipv6" }, "IPv6") : null,
  ];
}

// ---- list and create ----

export function mountNetworks(root) {
  const tbody = h("tbody");
  const count = h("span", { class: "sub" });
  const form = createForm();
  const toggle = h("button", { class: "button primary", id: "create-toggle", type: "button",
    onclick: () => { form.el.classList.toggle("hidden"); if (!form.el.classList.contains("hidden")) form.focus(); } }, "Create network");
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Networks"), count, h("div", { class: "actions" }, toggle)),
    form.el,
    h("div", { class: "panel flush" },
      h("table", { class: "data", id: "networks-table" },
        h("thead", {}, h("tr", {},
          h("th", {}, "Name"), h("th", {}, "Driver"), h("th", {}, "Subnet"), h("th", {}, "Gateway"),
          h("th", {}, "IPv6 subnet"), h("th", { class: "num" }, "VNI"), h("th", { class: "num" }, "Endpoints"),
          h("th", {}, "Hosts"), h("th", {}, "Created"))),
        tbody)),
  );
  const unsub = live.subscribe((t) => {
    form.updateHosts(t.hosts);
    clear(tbody);
    count.textContent = `${t.networks.length} defined`;
    if (t.networks.length === 0) {
      tbody.append(h("tr", {}, h("td", { colspan: 9, class: "empty" }, "No networks yet. Create one to get started.")));
      return;
    }
    const nets = [...t.networks].sort((a, b) => natural(a.name, b.name));
    for (const n of nets) {
      const eps = t.endpoints.filter((e) => e.networkId === n.id);
      const hosts = [...new Set(eps.map((e) => e.host))].sort(natural);
      tbody.append(h("tr", { dataset: { network: n.name } },
        h("td", {}, h("div", { class: "name-cell" }, h("span", { class: "swatch", color: networkColor(n) }),
          h("a", { href: `#/networks/${encodeURIComponent(n.name)}` }, n.name))),
        h("td", {}, kindBadges(n)),
        h("td", { class: "mono" }, n.subnet), h("td", { class: "mono" }, n.internal ? "none" : n.gateway),
        h("td", { class: "mono" }, n.subnet6 || "—"),
        h("td", { class: "num mono" }, n.vni),
        h("td", { class: "num" }, eps.length),
        h("td", {}, n.driver === "bridge" ? `${n.host} (local)` : hosts.join(", ") || "—"),
        h("td", { class: "muted" }, ago(n.created))));
    }
  });
  return unsub;
}

function field(name, label, input, hint) {
  return h("div", { class: "field", id: `field-${name}` },
    h("label", { for: `f-${name}` }, label), input,
    hint ? h("span", { class: "hint" }, hint) : null,
    h("p", { class: "field-error", id: `err-${name}` }));
}

function createForm() {
  const input = (name, placeholder) => h("input", { type: "text", id: `f-${name}`, name, placeholder, autocomplete: "off", spellcheck: "false" });
  const driver = h("select", { id: "f-driver", name: "driver" },
    h("option", { value: "overlay" }, "overlay (multi-host)"), h("option", { value: "bridge" }, "bridge (one host)"));
  const host = h("select", { id: "f-host", name: "host" });
  const internal = h("input", { type: "checkbox", id: "f-internal" });
  const ipv6 = h("input", { type: "checkbox", id: "f-ipv6" });
  const mtu = h("input", { type: "number", id: "f-mtu", name: "mtu", placeholder: "default", min: "0" });
  const hostField = field("host", "Host", host, "A bridge network lives on one host.");
  const v6Fields = [field("subnet6", "IPv6 subnet", input("subnet6", "default: a ULA /64"), null),
    field("gateway6", "IPv6 gateway", input("gateway6", "first address"), null)];
  const formError = h("p", { class: "form-error", id: "err-form", role: "alert" });
  const submit = h("button", { class: "button primary", type: "submit", id: "create-submit" }, "Create");
  const sync = () => {
    hostField.classList.toggle("hidden", driver.value !== "bridge");
    for (const f of v6Fields) f.classList.toggle("hidden", !ipv6.checked);
  };
  driver.addEventListener("change", sync);
  ipv6.addEventListener("change", sync);

  const clearErrors = () => {
    formError.textContent = "";
    for (const f of FIELDS) {
      const e = document.getElementById(`err-${f}`);
      if (e) e.textContent = "";
      const wrap = document.getElementById(`field-${f}`);
      if (wrap) wrap.classList.remove("invalid");
    }
  };
  const showError = (err) => {
    const target = err.field && document.getElementById(`err-${err.field}`);
    const wrap = err.field && document.getElementById(`field-${err.field}`);
    if (target && wrap && !wrap.classList.contains("hidden")) {
      target.textContent = err.message;
      wrap.classList.add("invalid");
      const inp = document.getElementById(`f-${err.field}`);
      if (inp) inp.focus();
    } else {
      formError.textContent = err.message;
    }
  };

  const el = h("form", { class: "panel hidden", id: "create-form", novalidate: true },
    h("h2", {}, "New network"),
    h("div", { class: "form-grid" },
      field("name", "Name", input("name", "e.g. backend"), null),
      field("driver", "Driver", driver, null),
      hostField,
      field("subnet", "Subnet", input("subnet", "default: next free pool"), "IPv4 CIDR, e.g. 10.20.0.0/24"),
      field("gateway", "Gateway", input("gateway", "default: first address"), null),
      field("ipRange", "IP range", input("ipRange", "default: whole subnet"), "Dynamic addresses come from here"),
      field("mtu", "MTU", mtu, "Default: underlay MTU − 50 (VXLAN)"),
      h("label", { class: "check" }, internal, "Internal (no gateway, no egress)"),
      h("label", { class: "check" }, ipv6, "Enable IPv6"),
      ...v6Fields),
    formError,
    h("div", { class: "form-actions" }, submit,
      h("button", { class: "button", type: "button", onclick: () => { el.classList.add("hidden"); clearErrors(); } }, "Cancel")));
  sync();

  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors();
    const v = (id) => document.getElementById(`f-${id}`).value.trim();
    const name = v("name");
    if (!name) {
      showError(new ApiError(400, "a network needs a name", "name"));
      return;
    }
    const req = { Name: name, Driver: driver.value, CheckDuplicate: true, Internal: internal.checked,
      EnableIPv6: ipv6.checked, IPAM: { Driver: "default", Config: [], Options: {} }, Options: {} };
    if (v("subnet") || v("gateway") || v("ipRange")) {
      req.IPAM.Config.push({ Subnet: v("subnet"), Gateway: v("gateway"), IPRange: v("ipRange") });
    }
    if (ipv6.checked && (v("subnet6") || v("gateway6"))) {
      req.IPAM.Config.push({ Subnet: v("subnet6"), Gateway: v("gateway6") });
    }
    if (driver.value === "bridge" && host.value) req.Options["ovsnet.host"] = host.value;
    if (v("mtu")) req.Options["com.docker.network.driver.mtu"] = v("mtu");
    submit.disabled = true;
    try {
      await api.post("/networks/create", req);
      toast(`Network ${name} created`);
      el.reset();
      sync();
      el.classList.add("hidden");
      await live.refresh();
      location.hash = `#/networks/${encodeURIComponent(name)}`;
    } catch (err) {
      showError(err);
    } finally {
      submit.disabled = false;
    }
  });

  return {
    el,
    focus: () => document.getElementById("f-name").focus(),
    updateHosts(hosts) {
      const keep = host.value;
      clear(host);
      for (const x of [...hosts].sort((a, b) => natural(a.name, b.name))) {
        host.append(h("option", { value: x.name }, `${x.name}${x.alive ? "" : " (down)"}`));
      }
      if (keep) host.value = keep;
    },
  };
}

// ---- one network ----

export function mountNetwork(root, name) {
  const body = h("div");
  root.append(body);
  const unsub = live.subscribe((t) => {
    const n = t.networks.find((x) => x.name === name || x.id === name);
    clear(body);
    if (!n) {
      body.append(h("div", { class: "page-head" }, h("h1", {}, name)),
        h("div", { class: "panel empty" }, `Network ${name} does not exist (any more). `, h("a", { href: "#/networks" }, "All networks")));
      return;
    }
    const eps = t.endpoints.filter((e) => e.networkId === n.id);
    body.append(networkHead(n, eps), facts(n, t.hosts), endpointsPanel(n, eps), footprintPanel(n, t.hosts, eps));
  });
  return unsub;
}

function networkHead(n, eps) {
  const del = h("button", { class: "button danger", id: "delete-network", type: "button" }, "Delete");
  del.addEventListener("click", async () => {
    if (eps.length > 0 && !confirm(`${n.name} has ${eps.length} endpoint(s); the controller will refuse. Try anyway?`)) return;
    if (eps.length === 0 && !confirm(`Delete network ${n.name}?`)) return;
    try {
      await api.del(`/networks/${encodeURIComponent(n.id)}`);
      toast(`Network ${n.name} deleted`);
      await live.refresh();
      location.hash = "#/networks";
    } catch (err) {
      toast(err.message, true);
    }
  });
  return h("div", { class: "page-head" },
    h("span", { class: "swatch", color: networkColor(n) }),
    h("h1", {}, n.name), kindBadges(n),
    h("span", { class: "sub mono" }, shortId(n.id)),
    h("div", { class: "actions" },
      h("a", { class: "button", href: `#/trace?network=${encodeURIComponent(n.name)}` }, "Trace…"), del));
}

function fact(k, v, id) {
  return h("div", { class: "fact" }, h("div", { class: "k" }, k), h("div", { class: "v", id }, v === "" || v == null ? "—" : v));
}

// endpointMTU is what endpoints get on a host: the network's MTU, or the
// underlay's minus VXLAN's 50 bytes (overlay), or the underlay's (bridge).
function endpointMTU(n, host) {
  if (n.mtu) return n.mtu;
  const underlay = (host && host.underlayMTU) || 1500;
  return n.driver === "bridge" ? underlay : underlay - 50;
}

function facts(n, hosts) {
  const mtus = [...new Set(hosts.map((x) => endpointMTU(n, x)))];
  const mtu = n.mtu ? `${n.mtu} (set)` : mtus.length === 1 ? `${mtus[0]}${n.driver === "overlay" ? " (underlay − 50 VXLAN)" : ""}` : mtus.join(" / ");
  return h("div", { class: "panel" }, h("div", { class: "facts" },
    fact("VNI", `${n.vni} (0x${n.vni.toString(16)})`, "fact-vni"),
    fact("MTU", mtu, "fact-mtu"),
    fact("Subnet", n.subnet),
    fact("Gateway", n.internal ? "none (internal)" : n.gateway),
    fact("IP range", n.ipRange || "whole subnet"),
    fact("IPv6 subnet", n.enableIPv6 ? n.subnet6 : "off"),
    fact("IPv6 gateway", n.enableIPv6 ? n.gateway6 : ""),
    fact("Scope", n.driver === "bridge" ? `local to ${n.host}` : "global (all hosts)"),
    fact("Created", when(n.created)),
    fact("ID", n.id),
    fact("Cookie (flows)", `0x0e000000${n.vni.toString(16).padStart(8, "0")}/0xff000000ffffffff`),
  ));
}

function endpointsPanel(n, eps) {
  const panel = h("div", { class: "panel flush", id: "endpoints" },
    h("div", { class: "panel-head" }, h("h2", {}, "Endpoints"), h("span", { class: "sub" }, `${eps.length} on ${new Set(eps.map((e) => e.host)).size} host(s)`)));
  if (eps.length === 0) {
    panel.append(h("div", { class: "empty" }, "No containers are attached. Connect one with ",
      h("code", {}, `ovsnetctl network connect --host H --netns PATH ${n.name} NAME`), "."));
    return panel;
  }
  const tbody = h("tbody");
  const byHost = {};
  for (const e of eps) (byHost[e.host] = byHost[e.host] || []).push(e);
  for (const host of Object.keys(byHost).sort(natural)) {
    tbody.append(h("tr", { class: "group" }, h("td", { colspan: 9 }, h("b", {}, host))));
    for (const e of byHost[host].sort((a, b) => natural(a.containerName, b.containerName))) {
      tbody.append(h("tr", { dataset: { endpoint: e.containerName } },
        h("td", {}, h("b", {}, e.containerName)),
        h("td", { class: "mono" }, e.ipv4), h("td", { class: "mono" }, e.ipv6 || "—"),
        h("td", { class: "mono" }, e.mac),
        h("td", {}, (e.aliases || []).join(", ") || "—"),
        h("td", { class: "mono ports" }, (e.published || []).map((p) => `${p.hostPort}→${p.port}/${p.proto}`).join(", ") || "—"),
        h("td", { class: "mono" }, e.status && e.status.port ? `${e.status.port} (${e.status.ofport})` : "—"),
        h("td", {}, statePill(stateOf(e), stateOf(e) === "error" ? `error: ${e.status.error}` : stateOf(e))),
        h("td", {}, h("a", { href: `#/trace?from=${encodeURIComponent(`${e.containerName}@${n.name}`)}` }, "trace from"))));
    }
  }
  panel.append(h("table", { class: "data" },
    h("thead", {}, h("tr", {}, h("th", {}, "Container"), h("th", {}, "IPv4"), h("th", {}, "IPv6"), h("th", {}, "MAC"),
      h("th", {}, "Aliases"), h("th", { title: "Published on the endpoint's host: HOSTPORT→PORT/PROTO" }, "Ports"), h("th", {}, "OVS port"), h("th", {}, "Status"), h("th", {}, ""))),
    tbody));
  return panel;
}

function footprintPanel(n, hosts, eps) {
  const rows = [...hosts].sort((a, b) => natural(a.name, b.name)).map((x) => {
    const mine = (x.flows && x.flows[n.id]) || 0;
    const total = Object.values(x.flows || {}).reduce((s, v) => s + v, 0);
    const pct = total ? Math.round((100 * mine) / total) : 0;
    const fill = h("span");
    fill.style.setProperty("width", `${pct}%`);
    fill.style.setProperty("background", networkColor(n));
    return h("tr", { dataset: { host: x.name } },
      h("td", {}, h("b", {}, x.name)),
      h("td", {}, statePill(x.alive ? "alive" : "down")),
      h("td", { class: "num" }, eps.filter((e) => e.host === x.name).length),
      h("td", { class: "num mono flows" }, mine),
      h("td", { class: "num mono" }, total),
      h("td", {}, h("div", { class: "bar" }, fill)),
      h("td", { class: "num" }, endpointMTU(n, x)),
      h("td", { class: "muted" }, ago(x.lastSync)));
  });
  return h("div", { class: "panel flush", id: "footprint" },
    h("div", { class: "panel-head" }, h("h2", {}, "OVS footprint"),
      h("span", { class: "sub" }, "OpenFlow flows each host's br-int holds for this network, as its agent reports them")),
    rows.length === 0 ? h("div", { class: "empty" }, "No hosts registered.") :
      h("table", { class: "data" },
        h("thead", {}, h("tr", {}, h("th", {}, "Host"), h("th", {}, "Agent"), h("th", { class: "num" }, "Endpoints"),
          h("th", { class: "num" }, "Flows"), h("th", { class: "num" }, "All flows"), h("th", {}, "Share"),
          h("th", { class: "num" }, "Endpoint MTU"), h("th", {}, "Last sync"))),
        h("tbody", {}, rows)));
}
