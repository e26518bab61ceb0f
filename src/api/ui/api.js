// Talking to the JSON API of this server. The key or token the user typed is kept in
// sessionStorage (this tab only, gone when it closes): never in localStorage, never in a
// cookie, and it is sent only as the X-API-Key header of the calls below.

const STORE = "ensign.key";
export const SERVER = "/api/v1/servers/localhost";
export const ZONES = `${SERVER}/zones`;

export function getKey() {
  return sessionStorage.getItem(STORE);
}

export function setKey(k) {
  sessionStorage.setItem(STORE, k);
}

export function forgetKey() {
  sessionStorage.removeItem(STORE);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// Called when the API says the key is not (or no longer) valid.
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

// One call: the parsed JSON (or text for text/plain; null for an empty answer). Errors throw
// ApiError with the API's body ({error, code, errors, reason, safeOrder, field}).
export async function call(method, path, body, opts = {}) {
  const headers = {"X-API-Key": getKey() || "", Accept: "application/json"};
  const init = {method, headers, credentials: "omit", cache: "no-store", redirect: "error"};
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, {error: `the server did not answer (${e.message})`, code: "network"});
  }
  const type = res.headers.get("Content-Type") || "";
  let data = null;
  const text = await res.text();
  if (text !== "") {
    if (type.startsWith("application/json")) {
      try {
        data = JSON.parse(text);
      } catch {
        data = {error: "the answer is not valid JSON"};
      }
    } else {
      data = text;
    }
  }
  if (res.status === 401) {
    onUnauthorized();
  }
  if (!res.ok) {
    throw new ApiError(res.status, typeof data === "object" && data ? data : {error: String(data || res.statusText)});
  }
  if (opts.full) return {status: res.status, data, headers: res.headers};
  return data;
}

// The id of a zone in a path: its name with bytes other than letters, digits, '.', '-' and
// '_' written as =XX (the API's zone ids).
export function zoneId(name) {
  let out = "";
  for (const b of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function zonePath(name) {
  return `${ZONES}/${zoneId(name)}`;
}

// The zone name of an id from the page's path (/ui/zones/ID), with its final dot.
export function nameOfId(id) {
  const bytes = [];
  for (let i = 0; i < id.length; i++) {
    if (id[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(id.slice(i + 1, i + 3))) {
      bytes.push(parseInt(id.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of new TextEncoder().encode(id[i])) bytes.push(b);
    }
  }
  let name = new TextDecoder().decode(new Uint8Array(bytes));
  if (!name.endsWith(".")) name += ".";
  return name;
}

// What the key may do, from GET /api/v1/tokens/self.
export function capabilities(self) {
  const p = self.permission;
  return {
    permission: p,
    name: self.name,
    zones: self.zones,
    write: p === "update" || p === "admin",
    admin: p === "admin",
    read: p === "read" || p === "update" || p === "admin",
  };
}
