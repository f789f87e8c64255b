// The controller's REST API, with its one auth setting: when the controller
// has a token, writes answer 401 until they carry it. The first 401 opens
// the token dialog; the token is kept in local storage and sent with every
// request from then on, so the UI asks once.

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

async function send(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token()) headers["Authorization"] = `Bearer ${token()}`;
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, `cannot reach the controller: ${e.message}`);
  }
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

// request sends one API call; on 401 it asks for the token (at most three
// times: a mistyped token gets another chance) and retries.
export async function request(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send(method, path, body);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401 || attempt >= 3) throw e;
      const hadToken = !!token();
      const t = await askToken(hadToken
        ? "The controller refused the token. Enter the right one to make changes."
        : "This controller requires a token for changes (ovsnet-controller -token).");
      if (!t) throw new ApiError(401, "no token given: the change was not made");
      localStorage.setItem(TOKEN_KEY, t);
      syncTokenButton();
    }
  }
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body === undefined ? {} : body),
  del: (path) => request("DELETE", path),
};
