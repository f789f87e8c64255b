// The controller's REST API, with its one auth setting: when the controller
// has a token, every request but the page's own files answers 401 until
// it carries it, reads included. The first 401 opens the token dialog
// (once, however many requests got it); the token is kept in local
// storage and sent with every request from then on, so the UI asks once.

const TOKEN_KEY = "ovsnet.token";

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || "";
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
  syncTokenButton();
}

export function syncTokenButton() {
  const b = document.getElementById("token-button");
  if (b) b.hidden = !token();
}

// askToken shows the token dialog and resolves to the token, or "" when
// the user cancels.
function askToken(message) {
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  document.getElementById("token-message").textContent = message;
  input.value = "";
  return new Promise((resolve) => {
    const form = document.getElementById("token-form");
    const cancel = document.getElementById("token-cancel");
    const done = (value) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (e) => { e.preventDefault(); done(input.value.trim()); };
    const onCancel = (e) => { e.preventDefault(); done(""); };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    input.focus();
  });
}

// asking is the token dialog in progress, shared by every request that
// got a 401 meanwhile: the user is asked once.
let asking = null;
// declined: the user cancelled the dialog; reads stop asking (the live
// stream would ask again and again) until the user makes a change.
let declined = false;

// tokenAfter401 asks for the token after a 401 and resolves to true when
// there is one to try (someone else's dialog may have brought it).
async function tokenAfter401(sent, interactive) {
  if (token() && token() !== sent) return true; // a newer token arrived meanwhile
  if (declined && !interactive) return false;
  if (!asking) {
    const message = sent
      ? "The controller refused the token. Enter the right one."
      : "This controller requires a token: enter it to see and change the cluster.";
    asking = askToken(message).then((t) => {
      if (t) {
        localStorage.setItem(TOKEN_KEY, t);
        syncTokenButton();
      }
      declined = !t;
      asking = null;
      return !!t;
    });
  }
  return asking;
}

// authorizedFetch is fetch with the token; on 401 it asks for the token
// (at most three times: a mistyped token gets another chance) and tries
// again. Event streams use it too (EventSource cannot send headers).
export async function authorizedFetch(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const sent = token();
    const headers = { ...(init.headers || {}) };
    if (sent) headers["Authorization"] = `Bearer ${sent}`;
    let resp;
    try {
      resp = await fetch(path, { ...init, headers });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError(0, `cannot reach the controller: ${e.message}`);
    }
    if (resp.status !== 401 || attempt >= 3) return resp;
    const interactive = (init.method || "GET") !== "GET";
    if (!(await tokenAfter401(sent, interactive))) throw new ApiError(401, "no token given: the controller answers nothing without it");
  }
}

async function send(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await authorizedFetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const message = (data && data.message) || text.trim() || `${resp.status} ${resp.statusText}`;
    throw new ApiError(resp.status, message, data && data.field);
  }
  return data;
}

// request sends one API call (asking for the token when needed).
export function request(method, path, body) {
  return send(method, path, body);
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body === undefined ? {} : body),
  del: (path) => request("DELETE", path),
};
