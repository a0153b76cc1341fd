// The case queue (priority, then age; overdue highlighted; filters) and a case's detail with its actions.
"use strict";

const ROLE_ACTIONS = {
  operator: ["acknowledged", "dispatched", "escalated", "resolved", "rated", "cancelled"],
  ward: ["acknowledged", "dispatched", "resolved", "rated"],
};
const fmQueue = {shown: [], selected: null, limit: 400};

function queueOrder(a, b) {
  // ISO 8601 UTC times sort as plain strings; localeCompare (ICU collation) would cost the wall a second.
  return (a.priority - b.priority) || (b.overdue - a.overdue) || (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0);
}

function filteredCases(cases) {
  const ward = document.getElementById("f-ward").value, state = document.getElementById("f-state").value,
        kind = document.getElementById("f-kind").value;
  return cases.filter(c => (!ward || c.ward_code === ward) && (!kind || c.kind === kind) &&
    (state === "" || (state === "open" ? OPEN_STATES.includes(c.state) : c.state === state))).sort(queueOrder);
}

function fillFilters(wards) {
  const opt = (v, label, sel) => `<option value="${escHtml(v)}"${sel ? " selected" : ""}>${escHtml(label)}</option>`;
  const keep = id => document.getElementById(id).value;
  const w = keep("f-ward"), s = keep("f-state") || "open", k = keep("f-kind");
  document.getElementById("f-ward").innerHTML = opt("", t("all")) +
    wards.map(x => opt(x.code, x.name, x.code === w)).join("");
  document.getElementById("f-state").innerHTML = opt("open", t("open"), s === "open") + opt("", t("all"), s === "") +
    ["registered", "acknowledged", "dispatched", "resolved", "cancelled"].map(x => opt(x, t("st_" + x), x === s)).join("");
  document.getElementById("f-kind").innerHTML = opt("", t("all")) +
    ["help", "medical", "trapped", "evacuation", "supplies"].map(x => opt(x, t("k_" + x), x === k)).join("");
}

function drawQueue(cases, onOpen) {
  const list = filteredCases(cases);
  fmQueue.shown = list.slice(0, fmQueue.limit);
  document.getElementById("queue-count").textContent = list.length > fmQueue.limit
    ? `(${fmtNum(fmQueue.limit)} / ${fmtNum(list.length)})` : `(${fmtNum(list.length)})`;
  const body = document.getElementById("cases");
  body.innerHTML = fmQueue.shown.map(c =>
    `<tr tabindex="0" data-case="${c.case_number}" class="${c.overdue ? "overdue" : ""}${c.case_number === fmQueue.selected ? " sel" : ""}">` +
    `<td>${c.case_number}</td><td class="p${c.priority}">P${c.priority}${c.overdue ? " ⏰" : ""}</td>` +
    `<td>${escHtml(t("k_" + c.kind))}</td><td>${fmtNum(c.people)}${c.presses > 1 ? " (×" + c.presses + ")" : ""}</td>` +
    `<td>${escHtml(c.ward_name)}</td><td>${escHtml(t("st_" + c.state))}${c.overdue ? " · " + t("overdue") : ""}</td>` +
    `<td>${fmtTime(c.created_at)}</td></tr>`).join("");
  body.querySelectorAll("tr").forEach(tr => {
    tr.addEventListener("click", () => onOpen(Number(tr.dataset.case)));
    tr.addEventListener("keydown", e => { if (e.key === "Enter") onOpen(Number(tr.dataset.case)); });
  });
}

function moveQueueSelection(step) {
  const rows = [...document.querySelectorAll("#cases tr")];
  if (!rows.length) return;
  const i = rows.indexOf(document.activeElement);
  rows[Math.max(0, Math.min(rows.length - 1, i < 0 ? 0 : i + step))].focus();
}

function actorPath(actor) {
  const kind = String(actor).split(":")[0];
  return {gateway: "via_gateway", officer: "via_radio", operator: "via_ioc", ward: "via_ioc", central: "via_central", node: "via_node"}[kind] || "via_central";
}

function eventNote(e) {
  const d = e.data || {};
  const parts = Object.entries(d).map(([k, v]) => `${k}: ${v}`);
  return parts.join(" · ") + (e.ignored ? ` (${e.ignored})` : "");
}

function drawDetail(c) {
  const box = document.getElementById("detail");
  box.hidden = false;
  box.dataset.case = c.case_number;
  document.getElementById("detail-title").textContent = `${t("detail")} #${c.case_number} · P${c.priority}`;
  const facts = [[t("state"), t("st_" + c.state) + (c.overdue ? " · " + t("overdue") : "")], [t("kind"), t("k_" + c.kind)],
    [t("people"), fmtNum(c.people) + (c.vulnerable.length ? " · " + c.vulnerable.join(", ") : "")],
    [t("ward"), c.ward_name], [t("authority"), c.authority + (c.escalated_to ? " → " + c.escalated_to : "")],
    [t("by"), c.located_by + (c.lat === null ? "" : ` (${fmtNum(c.lat, 5)}, ${fmtNum(c.lon, 5)})`)],
    [t("created"), fmtTime(c.created_at, true)], [t("rating"), c.rating ?? t("none")]];
  document.getElementById("detail-facts").innerHTML = facts.map(([k, v]) => `<dt>${escHtml(k)}</dt><dd>${escHtml(v)}</dd>`).join("");
  const actions = ROLE_ACTIONS[session.role] || [];
  document.getElementById("detail-actions").innerHTML = actions.map(a => a === "rated"
    ? `<label>${escHtml(t("rating"))} <select id="rating">${[5, 4, 3, 2, 1].map(n => `<option>${n}</option>`).join("")}</select></label>` +
      `<button type="button" data-action="rated">${escHtml(t("act_rated"))}</button>`
    : `<button type="button" data-action="${a}">${escHtml(t("act_" + a))}</button>`).join("");
  document.getElementById("detail-history").innerHTML = c.events.map(e =>
    `<tr class="${e.ignored ? "ignored" : ""}"><td>${fmtTime(e.at, true)}</td><td>${escHtml(t("ev_" + e.kind))}</td>` +
    `<td>${escHtml(e.actor)}</td><td>${escHtml(t(actorPath(e.actor)))}</td><td>${escHtml(eventNote(e))}</td></tr>`).join("");
}

function showDetailMessage(text, ok) {
  const el = document.getElementById("detail-message");
  el.textContent = text;
  el.className = text ? (ok ? "ok" : "error") : "";
}

async function actOnCase(caseNumber, action) {
  const body = {kind: action, data: {}};
  if (action === "rated") body.data.rating = Number(document.getElementById("rating").value);
  if (action === "acknowledged" && session.role === "operator") body.data.on_behalf = true;
  if (action === "escalated") body.data.reason = "IOC";
  try {
    const c = await apiRequest("POST", `/api/cases/${caseNumber}/events`, body);
    drawDetail(c);
    showDetailMessage(t("done", {what: t("act_" + action)}), true);
    return c;
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) showDetailMessage(t("conflict", {why: err.detail}), false);
    else if (err instanceof ApiError && (err.status === 403 || err.status === 404)) showDetailMessage(t("forbidden"), false);
    else throw err;
    return null;
  }
}

// A short two-tone beep for a new P1 case, made by the browser itself (no audio file to fetch).
const fmSound = {ctx: null, muted: false};
function beep() {
  if (fmSound.muted || !fmSound.ctx) return;
  const ctx = fmSound.ctx, osc = ctx.createOscillator(), gain = ctx.createGain();
  osc.connect(gain); gain.connect(ctx.destination);
  osc.frequency.setValueAtTime(880, ctx.currentTime); osc.frequency.setValueAtTime(660, ctx.currentTime + 0.25);
  gain.gain.setValueAtTime(0.2, ctx.currentTime);
  osc.start(); osc.stop(ctx.currentTime + 0.5);
}
