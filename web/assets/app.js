// ovsnet's web UI: one page, client-side routes in the URL's hash
// (#/networks, #/networks/NAME, #/hosts, #/topology, #/trace?from=&to=).
// Each view mounts into <main id="view"> and returns how to unmount it.

import { clear, h } from "./dom.js";
import { forgetToken, syncTokenButton } from "./api.js";
import * as live from "./live.js";
import { mountNetworks, mountNetwork } from "./networks.js";
import { mountHosts } from "./hosts.js";
import { mountTopology } from "./topology.js";
import { mountTrace } from "./trace.js";

const routes = [
  { re: /^\/networks\/([^/]+)$/, nav: "networks", mount: (root, m) => mountNetwork(root, decodeURIComponent(m[1])) },
  { re: /^\/networks\/?$/, nav: "networks", mount: (root) => mountNetworks(root) },
  { re: /^\/hosts\/?$/, nav: "hosts", mount: (root) => mountHosts(root) },
  { re: /^\/topology\/?$/, nav: "topology", mount: (root) => mountTopology(root) },
  { re: /^\/trace\/?$/, nav: "trace", mount: (root, m, q) => mountTrace(root, q) },
];

let unmount = null;

function route() {
  const hash = location.hash.replace(/^#/, "") || "/networks";
  const [path, query] = hash.split("?");
  const q = new URLSearchParams(query || "");
  const root = document.getElementById("view");
  if (unmount) {
    unmount();
    unmount = null;
  }
  clear(root);
  for (const r of routes) {
    const m = path.match(r.re);
    if (!m) continue;
    for (const a of document.querySelectorAll("[data-nav]")) {
      a.classList.toggle("active", a.dataset.nav === r.nav);
    }
    unmount = r.mount(root, m, q) || null;
    window.scrollTo(0, 0);
    return;
  }
  root.append(h("div", { class: "panel empty" }, `No page ${path}. `, h("a", { href: "#/networks" }, "Go to networks")));
}

window.addEventListener("hashchange", route);
document.getElementById("token-button").addEventListener("click", forgetToken);
syncTokenButton();
live.start();
route();
