// Small DOM helpers. Pages build their elements with h() and svg(); text
// always goes in as text nodes, never as HTML, so nothing the API returns
// can inject markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "dataset") {
      for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
    } else if (k === "color") {
      el.style.setProperty("background-color", v); // CSSOM: allowed by the CSP
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h("div", {class: "x"}, "text", child...) makes an HTML element.
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// svg("rect", {x: 1}) makes an SVG element.
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function shortId(id) {
  return (id || "").slice(0, 12);
}

// ago renders a time as "3s ago", "5m ago"; "never" for Go's zero time.
export function ago(iso) {
  if (!iso || iso.startsWith("0001-")) return "never";
  const d = (Date.now() - new Date(iso).getTime()) / 1000;
  if (d < 1) return "just now";
  if (d < 60) return `${Math.floor(d)}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 172800) return `${Math.floor(d / 3600)}h ago`;
  return `${Math.floor(d / 86400)}d ago`;
}

export function when(iso) {
  if (!iso || iso.startsWith("0001-")) return "";
  return new Date(iso).toLocaleString();
}

// Networks keep one color everywhere (list, topology, trace): picked by
// VNI, so it survives reloads and other networks coming and going.
const PALETTE = ["#1f6feb", "#e8590c", "#2f9e44", "#ae3ec9", "#d6336c", "#0c8599",
  "#f08c00", "#5f3dc4", "#c2255c", "#2b8a3e", "#1971c2", "#9c36b5"];

export function networkColor(n) {
  return PALETTE[((n && n.vni) || 0) % PALETTE.length];
}

export function addr(prefix) {
  return (prefix || "").split("/")[0];
}

// Natural order: "h2" before "h10".
export function natural(a, b) {
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function stateOf(ep) {
  if (!ep.status || !ep.status.state) return "pending";
  return ep.status.state;
}

export function statePill(state, text) {
  const cls = state === "ready" || state === "alive" ? "ok" : state === "error" || state === "down" ? "bad" : "pending";
  return h("span", { class: `pill ${cls}` }, text || state);
}

export function endpointRef(ep) {
  return `${ep.containerName}@${ep.networkName}`;
}

let toastTimer = 0;
export function toast(message, isError) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.classList.toggle("error", !!isError);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}
