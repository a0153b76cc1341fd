// Talking to central: the session token (memory only), JSON requests, and the reconnecting live stream.
"use strict";

// The session token lives in this object only (never localStorage or a cookie): closing the tab logs out,
// a script injected into another page of this origin finds nothing stored, and no request can be forged
// cross-site because the browser never attaches it by itself.
const session = {token: null, user: null, role: null, ward: null};

class Unauthorized extends Error {}
class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; this.detail = detail; }
}

async function apiRequest(method, url, body) {
  const headers = session.token ? {"Authorization": "Bearer " + session.token} : {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  if (r.status === 401) throw new Unauthorized(url);
  if (!r.ok) {
    let detail = String(r.status);
    try { const j = await r.json(); detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch (e) { /* not JSON */ }
    throw new ApiError(r.status, detail);
  }
  return r.status === 204 ? null : r.json();
}

const getJson = url => apiRequest("GET", url);

async function logInRequest(user, password) {
  const r = await fetch("/api/session", {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify({user, password})});
  if (!r.ok) return {error: r.status, retryAfter: r.headers.get("Retry-After")};
  const s = await r.json();
  Object.assign(session, {token: s.token, user: s.user, role: s.role, ward: s.ward});
  return {};
}

async function logOutRequest() {
  const token = session.token;
  Object.assign(session, {token: null, user: null, role: null, ward: null});
  if (token) await fetch("/api/session", {method: "DELETE", headers: {"Authorization": "Bearer " + token}}).catch(() => null);
}

// The live stream: EventSource cannot send the Authorization header, so each connection starts with a
// 30-second single-use ticket from POST /api/events/ticket. On any error the stream is closed and opened
// again with a fresh ticket, backing off from 1 s to 15 s; every (re)connection reloads everything, so
// nothing that changed while it was down is missed.
class LiveStream {
  constructor(onChange, onConnected, onState, onUnauthorized) {
    Object.assign(this, {onChange, onConnected, onState, onUnauthorized});
    this.source = null; this.backoff = 1000; this.timer = null; this.stopped = true;
  }
  start() { this.stopped = false; this.open(); }
  stop() {
    this.stopped = true; clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null; this.onState(false);
  }
  async open() {
    if (this.stopped) return;
    let ticket;
    try {
      ticket = (await apiRequest("POST", "/api/events/ticket")).ticket;
    } catch (err) {
      if (err instanceof Unauthorized) { this.stop(); this.onUnauthorized(); return; }
      this.retry(); return;
    }
    if (this.stopped) return;
    const source = this.source = new EventSource("/api/events?ticket=" + encodeURIComponent(ticket));
    source.addEventListener("hello", () => { this.backoff = 1000; this.onState(true); this.onConnected(); });
    source.addEventListener("change", e => this.onChange(JSON.parse(e.data)));
    source.addEventListener("bye", () => { source.close(); this.onState(false); this.retry(0); });
    source.onerror = () => { source.close(); this.onState(false); this.retry(); };
  }
  retry(delay) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const wait = delay ?? this.backoff;
    this.backoff = Math.min(this.backoff * 2, 15000);
    this.timer = setTimeout(() => this.open(), wait);
  }
}
