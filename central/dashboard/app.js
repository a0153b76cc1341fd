// The dashboard's glue: log in, load everything once, then keep it current from the live stream.
"use strict";

const S = {wards: [], wardNames: new Map(), cases: new Map(), stations: [], station: null, hours: 24,
           acct: [], gateways: [], openDetail: null, loaded: false, streamOpen: false};
const live = new LiveStream(onLiveChange, onStreamOpen, setLiveState, () => showLogin(t("session_ended")));

// The first load runs alongside the stream's opening (not after it), so the screen is drawn sooner; once
// both are done, one more load covers what changed in between. A reconnection reloads everything.
function onStreamOpen() {
  S.streamOpen = true;
  if (S.loaded) loadAll().catch(onFailure);
}

function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text; el.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

function setLiveState(on) {
  const el = document.getElementById("live");
  el.className = on ? "on" : "off";
  el.textContent = on ? t("live_on") : t("live_off");
}

function onFailure(err) {
  if (err instanceof Unauthorized) { showLogin(t("session_ended")); return; }
  console.error(err);
  document.getElementById("stats").textContent = t("unreachable", {err: err.message});
}

// ---- loading ----------------------------------------------------------------------------------

async function loadCases() {
  const state = document.getElementById("f-state").value;
  const urls = OPEN_STATES.map(s => `/api/cases?state=${s}&limit=5000`);
  if (state !== "open") urls.push(state ? `/api/cases?state=${state}&limit=2000` : "/api/cases?limit=2000");
  const lists = await Promise.all(urls.map(getJson));
  S.cases = new Map(lists.flat().map(c => [c.case_number, c]));
}

async function loadStations() {
  S.stations = await getJson("/api/stations");
  if (!S.station && S.stations.length) S.station = S.stations[0].id;
}

async function loadAccountability() {
  const days = Number(document.getElementById("acct-period").value);
  const since = new Date(Date.now() - days * 86400e3).toISOString();
  const rows = await getJson(`/api/accountability?since=${encodeURIComponent(since)}`);
  S.acct = session.role === "operator" ? rows : rows.filter(r => r.ward_code === session.ward);
}

async function loadGateways() { S.gateways = await getJson("/api/dashboard/gateways"); }

async function loadStats() {
  const [stats, health] = await Promise.all([getJson("/api/stats"), getJson("/healthz")]);
  document.getElementById("stats").textContent =
    `${t("cases")} ${fmtNum(stats.sos_cases)} (${t("open")} ${fmtNum(stats.open_cases)}) · ${t("alert")} ${fmtNum(stats.alerts)}`;
  const h = document.getElementById("health");
  h.textContent = health.mqtt_connected ? "MQTT ●" : t("mqtt_down");
  h.className = health.mqtt_connected ? "" : "down";
}

async function loadAll() {
  // The chart's readings are fetched as soon as the stations are known, alongside everything else.
  const chart = loadStations().then(() => {
    const station = S.stations.find(s => s.id === S.station);
    return station ? fetchChart(station, S.hours) : null;
  });
  // First what the wall needs at once (map, queue, banner, chart); accountability and gateways after, so
  // their heavier queries do not compete with it for central's CPU.
  const [fetched] = await Promise.all([chart, loadCases(), loadStats()]);
  drawCases();
  drawStationsAll();
  if (fetched) drawFetchedChart(fetched);
  const rest = Promise.all([loadAccountability(), loadGateways()]).then(() => {
    drawAccountability(S.acct);
    drawGateways(S.gateways, S.wardNames);
    drawCases();  // isolated wards come from the gateways
  });
  if (!S.loaded) performance.mark("fm-first-render");  // map, queue and chart drawn
  await rest;
  if (S.openDetail !== null) await openCase(S.openDetail, false);
  if (!S.loaded) {
    S.loaded = true;
    document.body.dataset.ready = "1";  // every panel drawn: the tests and the benchmark wait for this
  }
}

// ---- drawing ----------------------------------------------------------------------------------

function isolatedWards() {
  const byWard = new Map();
  for (const g of S.gateways) byWard.set(g.ward, (byWard.get(g.ward) || []).concat(g.state));
  return new Set([...byWard].filter(([, states]) => states.every(s => s === "silent" || s === "isolated")).map(([w]) => w));
}

function drawCases() {
  const cases = [...S.cases.values()];
  const byWard = new Map();
  for (const c of cases) {
    if (!OPEN_STATES.includes(c.state)) continue;
    const w = byWard.get(c.ward_code) || {open: 0, overdue: 0};
    w.open += 1; w.overdue += c.overdue ? 1 : 0;
    byWard.set(c.ward_code, w);
  }
  shadeWards(byWard, isolatedWards());
  drawQueue(cases, n => openCase(n));
  // Markers for the most urgent cases the queue lists: thousands of dots hide each other, and the wards'
  // shading already counts them all.
  drawCaseMarkers(fmQueue.shown, n => openCase(n));
}

function drawStationsAll() {
  drawBanner(S.stations);
  drawStationsTable(S.stations, S.station, pickStation);
  drawStationMarkers(S.stations, pickStation);
}

function drawAll() {
  drawCases();
  drawStationsAll();
  drawAccountability(S.acct);
  drawGateways(S.gateways, S.wardNames);
}

async function redrawChart() {
  await drawChart(S.stations.find(s => s.id === S.station), S.hours);
}

function pickStation(id) {
  S.station = id;
  drawStationsTable(S.stations, S.station, pickStation);
  redrawChart().catch(onFailure);
}

async function openCase(n, focus = true) {
  S.openDetail = n;
  fmQueue.selected = n;
  const c = await getJson(`/api/cases/${n}`);
  drawDetail(c);
  if (focus) { showDetailMessage(""); document.getElementById("detail").focus(); }
}

function closeDetail() {
  S.openDetail = null;
  document.getElementById("detail").hidden = true;
  const row = document.querySelector(`#cases tr[data-case="${fmQueue.selected}"]`);
  if (row) row.focus();
}

// ---- live updates -----------------------------------------------------------------------------

const pending = {cases: new Set(), stations: false, gateways: false, resync: false, timer: null};

function onLiveChange(msg) {
  msg.cases.forEach(n => pending.cases.add(n));
  pending.stations ||= msg.alerts.length > 0 || msg.levels.length > 0;
  pending.gateways ||= (msg.gateways || []).length > 0;
  pending.resync ||= msg.resync;
  if (!pending.timer) pending.timer = setTimeout(() => applyPending().catch(onFailure), 100);
}

async function applyPending() {
  const numbers = [...pending.cases], stations = pending.stations, resync = pending.resync;
  const gateways = pending.gateways || numbers.length > 0;
  pending.cases.clear(); pending.stations = pending.gateways = pending.resync = false; pending.timer = null;
  if (resync) { await loadAll(); return; }
  const work = [];
  if (numbers.length > 40) work.push(loadCases());
  else if (numbers.length) work.push(Promise.all(numbers.map(n => getJson(`/api/cases/${n}`))).then(found => {
    for (const c of found) {
      if (!S.cases.has(c.case_number) && c.priority === 1) { beep(); toast(t("new_p1", {n: c.case_number})); }
      delete c.events;
      S.cases.set(c.case_number, c);
    }
  }));
  if (numbers.length) work.push(loadAccountability());
  if (gateways) work.push(loadGateways());
  if (stations) work.push(loadStations());
  work.push(loadStats());
  await Promise.all(work);
  if (numbers.length) drawAccountability(S.acct);
  if (numbers.length || gateways) { drawCases(); drawGateways(S.gateways, S.wardNames); }  // the map marks isolated wards
  if (stations) { drawStationsAll(); await redrawChart(); }
  if (S.openDetail !== null && numbers.includes(S.openDetail)) await openCase(S.openDetail, false);
}

// ---- session, language, keyboard ----------------------------------------------------------------

function showLogin(message) {
  live.stop();
  logOutRequest();
  document.querySelector("main").hidden = true;
  document.getElementById("detail").hidden = true;
  document.getElementById("banner").hidden = true;
  ["logout", "mute"].forEach(id => { document.getElementById(id).hidden = true; });
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("whoami").textContent = "";
  document.getElementById("login-user").focus();
}

async function logIn(event) {
  event.preventDefault();
  performance.mark("fm-login");  // benchmarks/dashboard_render measures from here to "fm-first-render"
  const password = document.getElementById("login-password");
  // The login click is the user gesture browsers ask for before a page may play sound.
  if (!fmSound.ctx && window.AudioContext) fmSound.ctx = new AudioContext();
  const result = await logInRequest(document.getElementById("login-user").value, password.value);
  password.value = "";
  if (result.error) {
    document.getElementById("login-error").textContent = result.error === 429 ? t("too_many", {s: result.retryAfter})
      : result.error === 401 ? t("wrong_login") : t("login_failed", {status: result.error});
    return;
  }
  document.getElementById("login").hidden = true;
  ["logout", "mute"].forEach(id => { document.getElementById(id).hidden = false; });
  document.querySelector("main").hidden = false;
  document.getElementById("whoami").textContent = `${session.user} (${session.role}${session.ward ? " · " + session.ward : ""})`;
  if (!fmMap.map) {
    const fc = await getJson("/api/wards");
    S.wards = fc.features.map(f => f.properties).sort((a, b) => a.name.localeCompare(b.name, "vi"));
    S.wardNames = new Map(S.wards.map(w => [w.code, w.name]));
    initMap(fc);
  }
  fillFilters(session.role === "operator" ? S.wards : S.wards.filter(w => w.code === session.ward));
  S.streamOpen = false;
  live.start();
  await loadAll();
  if (S.streamOpen) await loadAll();  // opened while the first load ran: catch up on what it may have missed
}

function setLanguage(lang) {
  fm.lang = lang;
  localStorage.setItem("floodmesh-lang", lang);
  applyLabels();
  document.getElementById("mute").textContent = fmSound.muted ? t("unmute") : t("mute");
  setLiveState(document.getElementById("live").className === "on");
  if (S.loaded) {
    fillFilters(session.role === "operator" ? S.wards : S.wards.filter(w => w.code === session.ward));
    relabelMapControl(); drawAll(); redrawChart().catch(onFailure); loadStats().catch(onFailure);
    if (S.openDetail !== null) openCase(S.openDetail, false).catch(onFailure);
  }
}

function onKey(e) {
  if (e.key === "Escape" && !document.getElementById("detail").hidden) { closeDetail(); return; }
  if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName) || !session.token) return;
  if (e.key === "/") { e.preventDefault(); document.getElementById("f-ward").focus(); }
  else if (e.key === "j") moveQueueSelection(1);
  else if (e.key === "k") moveQueueSelection(-1);
  else if (e.key === "l") setLanguage(fm.lang === "vi" ? "en" : "vi");
}

function wire() {
  document.getElementById("login").addEventListener("submit", e => logIn(e).catch(onFailure));
  document.getElementById("logout").addEventListener("click", () => { S.loaded = false; showLogin(t("logged_out")); });
  document.getElementById("lang").addEventListener("click", () => setLanguage(fm.lang === "vi" ? "en" : "vi"));
  document.getElementById("mute").addEventListener("click", () => {
    fmSound.muted = !fmSound.muted;
    document.getElementById("mute").textContent = fmSound.muted ? t("unmute") : t("mute");
  });
  document.getElementById("detail-close").addEventListener("click", closeDetail);
  document.getElementById("detail-actions").addEventListener("click", e => {
    const action = e.target.dataset && e.target.dataset.action;
    if (action) actOnCase(S.openDetail, action).catch(onFailure);
  });
  ["f-ward", "f-kind"].forEach(id => document.getElementById(id).addEventListener("change", drawCases));
  document.getElementById("f-state").addEventListener("change", () => loadCases().then(drawCases).catch(onFailure));
  document.getElementById("acct-period").addEventListener("change",
    () => loadAccountability().then(() => drawAccountability(S.acct)).catch(onFailure));
  document.getElementById("acct-csv").addEventListener("click", () => downloadCsv(S.acct));
  document.querySelectorAll(".tabs button").forEach(b => b.addEventListener("click", () => {
    S.hours = Number(b.dataset.range);
    document.querySelectorAll(".tabs button").forEach(x => x.setAttribute("aria-pressed", String(x === b)));
    redrawChart().catch(onFailure);
  }));
  document.addEventListener("keydown", onKey);
  // Gateways age into "silent" with no event to say so: look again every minute.
  setInterval(() => { if (S.loaded && session.token) loadGateways().then(drawCases).then(
    () => drawGateways(S.gateways, S.wardNames)).catch(onFailure); }, 60000);
  setLanguage(localStorage.getItem("floodmesh-lang") === "en" ? "en" : "vi");
}

if (typeof L === "undefined" || typeof uPlot === "undefined") {
  // A central installed without running setup serves no vendored libraries: say so instead of a blank map.
  document.getElementById("login-error").textContent = "Thiếu thư viện bản đồ/biểu đồ: chạy scripts/setup.sh " +
    "(hoặc scripts/vendor_dashboard.sh) trên máy chủ trung tâm rồi tải lại. / The map and chart libraries are " +
    "missing: run scripts/setup.sh (or scripts/vendor_dashboard.sh) on the central host, then reload.";
  document.querySelector("#login button[type=submit]").disabled = true;
} else {
  wire();
}
