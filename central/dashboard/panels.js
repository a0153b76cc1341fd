// Stations, their level chart, the flood banner, accountability (sortable, CSV) and gateways.
"use strict";

const RANK = {none: 0, BD1: 1, BD2: 2, BD3: 3};

function drawStationsTable(stations, selected, onPick) {
  const body = document.getElementById("stations");
  body.innerHTML = stations.map(s => {
    const lv = s.alert_levels_m, alert = s.alert_state !== "none" ? s.alert_state : s.alert;
    return `<tr tabindex="0" data-station="${escHtml(s.id)}" class="${s.id === selected ? "sel" : ""}">` +
      `<td>${escHtml(s.name)}</td><td>${escHtml(s.river)}</td><td>${s.level_m === null ? t("none") : fmtNum(s.level_m, 2)}</td>` +
      `<td>${trendArrow(s)} ${s.trend_m_per_h === null ? "" : fmtNum(s.trend_m_per_h, 2) + " m/h"}</td>` +
      `<td class="a-${escHtml(alert)}">${escHtml(t("a_" + alert))}</td><td>${fmtNum(lv.BD1, 1)}/${fmtNum(lv.BD2, 1)}/${fmtNum(lv.BD3, 1)}</td>` +
      `<td>${fmtTime(s.level_at)}</td></tr>`;
  }).join("");
  body.querySelectorAll("tr").forEach(tr => {
    tr.addEventListener("click", () => onPick(tr.dataset.station));
    tr.addEventListener("keydown", e => { if (e.key === "Enter") onPick(tr.dataset.station); });
  });
}

// The banner is up while any station's alert in force is BĐ2 or above.
function drawBanner(stations) {
  const high = stations.filter(s => RANK[s.alert_state] >= 2).sort((a, b) => RANK[b.alert_state] - RANK[a.alert_state]);
  const el = document.getElementById("banner");
  el.hidden = high.length === 0;
  el.classList.toggle("bd3", high.some(s => s.alert_state === "BD3"));
  el.textContent = high.length === 0 ? "" : `${t("banner")}: ` + high.map(s =>
    `${s.name} ${t("a_" + s.alert_state)} ${s.level_m === null ? "" : fmtNum(s.level_m, 2) + " m"} ${trendArrow(s)}`).join(" · ") +
    (high.length > 1 ? ` (${t("banner_more", {n: high.length})})` : "");
}

const fmChart = {plot: null};

// Levels over 24 h (raw readings) or 7 days (hourly means of quality-passed readings), BĐ1/2/3 as dashed
// lines, quality-flagged readings (QARTOD suspect or fail) as red points.
async function drawChart(station, hours) {
  if (station) drawFetchedChart(await fetchChart(station, hours));
}

async function fetchChart(station, hours) {
  // The window ends at the latest reading's own time, not the wall clock: a replayed or delayed feed
  // (a gateway draining its outbox after a cut) still shows its last 24 h, and the note says when that was.
  const latest = await getJson(`/api/stations/${encodeURIComponent(station.id)}/levels?limit=1`);
  const last = latest.length ? Date.parse(latest[0].level_at || latest[0].received_at) : Date.now();
  const until = new Date(Math.min(Date.now(), last) + 1000), since = new Date(until.getTime() - hours * 3600e3);
  const q = `since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}`;
  const raw = await getJson(`/api/stations/${encodeURIComponent(station.id)}/levels?${q}&limit=10000`);
  const buckets = hours <= 24 ? null
    : await getJson(`/api/stations/${encodeURIComponent(station.id)}/history?${q}&bucket_s=3600`);
  return {station, hours, since, until, last, latest, raw, buckets};
}

function drawFetchedChart({station, hours, since, until, last, latest, raw, buckets}) {
  document.getElementById("chart-station").textContent = station.name;
  const box = document.getElementById("chart");
  let xs, ys;
  if (buckets === null) {
    const good = raw.filter(r => r.level_m !== null && r.qc_flag < 3);
    xs = good.map(r => Date.parse(r.level_at || r.received_at) / 1000); ys = good.map(r => r.level_m);
  } else {
    xs = buckets.map(b => Date.parse(b.start) / 1000); ys = buckets.map(b => b.mean_m);
  }
  const flagged = raw.filter(r => r.level_m !== null && r.qc_flag >= 3);
  const fx = flagged.map(r => Date.parse(r.level_at || r.received_at) / 1000);
  // One x axis for all series: the union of times, each series null where it has no point.
  const allX = [...new Set([since.getTime() / 1000, ...xs, ...fx, until.getTime() / 1000])].sort((a, b) => a - b);
  const at = new Map(allX.map((x, i) => [x, i]));
  const line = allX.map(() => null), flags = allX.map(() => null);
  xs.forEach((x, i) => { line[at.get(x)] = ys[i]; });
  flagged.forEach((r, i) => { flags[at.get(fx[i])] = r.level_m; });
  const lv = station.alert_levels_m;
  const data = [allX, line, flags, ...["BD1", "BD2", "BD3"].map(k => allX.map(() => lv[k]))];
  const width = Math.max(300, box.clientWidth || 500);
  const opts = {
    width, height: 240, tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), "Asia/Ho_Chi_Minh"),
    legend: {show: true}, cursor: {show: true},
    scales: {x: {time: true, range: () => [since.getTime() / 1000, until.getTime() / 1000]}, y: {range: (u, lo, hi) => [Math.min(lo ?? 0, 0), Math.max(hi ?? 0, lv.BD3 + 0.5)]}},
    series: [{label: t("when")}, {label: t("level"), stroke: "#12355b", width: 2, spanGaps: true},
      {label: t("flagged"), stroke: "#c0392b", width: 0, points: {show: true, size: 8, fill: "#c0392b"}},
      {label: "BĐ1", stroke: ALERT_COLOUR.BD1, dash: [6, 4], points: {show: false}},
      {label: "BĐ2", stroke: ALERT_COLOUR.BD2, dash: [6, 4], points: {show: false}},
      {label: "BĐ3", stroke: ALERT_COLOUR.BD3, dash: [6, 4], points: {show: false}}],
    axes: [{values: (u, splits) => splits.map(x => new Date(x * 1e3).toLocaleString(locale(), hours <= 24
      ? {timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit"}
      : {timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit"}))},
      {label: "m", values: (u, splits) => splits.map(y => fmtNum(y, 1))}],
  };
  if (fmChart.plot) fmChart.plot.destroy();
  box.innerHTML = "";
  fmChart.plot = new uPlot(opts, data, box);
  document.getElementById("chart-note").textContent = xs.length || fx.length
    ? (Date.now() - last > 3600e3 ? t("chart_until", {at: fmtTime(latest[0].level_at, true)}) : "") : t("no_readings");
  box.dataset.points = String(xs.length);  // the tests wait on this
}

const ACCT_COLUMNS = [
  ["authority", "authority"], ["received", "received"], ["acknowledged_in_time", "ack_in_time"],
  ["resolved", "resolved"], ["open", "open"], ["overdue", "overdue"], ["mean_time_to_acknowledge_s", "mean_ack"],
  ["mean_time_to_resolve_s", "mean_resolve"], ["mean_satisfaction", "satisfaction"],
];
const acctSort = {key: "overdue", desc: true};

function acctCell(row, key) {
  const v = row[key];
  if (key.endsWith("_s")) return fmtDuration(v);
  if (key === "mean_satisfaction") return v === null ? t("none") : fmtNum(v, 1) + ` (${fmtNum(row.ratings)})`;
  return typeof v === "number" ? fmtNum(v) : escHtml(v);
}

function sortedAcct(rows) {
  const k = acctSort.key, dir = acctSort.desc ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = a[k] ?? -Infinity, y = b[k] ?? -Infinity;
    return (x < y ? -1 : x > y ? 1 : 0) * dir || String(a.authority).localeCompare(String(b.authority));
  });
}

function drawAccountability(rows) {
  const table = document.getElementById("acct");
  table.querySelector("thead tr").innerHTML = ACCT_COLUMNS.map(([key, label]) => {
    const sort = acctSort.key === key ? (acctSort.desc ? "descending" : "ascending") : "none";
    const mark = sort === "descending" ? " ▼" : sort === "ascending" ? " ▲" : "";
    return `<th aria-sort="${sort}"><button type="button" data-key="${key}">${escHtml(t(label))}${mark}</button></th>`;
  }).join("");
  table.querySelector("tbody").innerHTML = sortedAcct(rows).map(r =>
    `<tr data-ward="${escHtml(r.ward_code)}" class="${r.overdue ? "overdue" : ""}">` +
    ACCT_COLUMNS.map(([key]) => `<td data-col="${key}">${acctCell(r, key)}</td>`).join("") + "</tr>").join("");
  table.querySelectorAll("th button").forEach(b => b.addEventListener("click", () => {
    acctSort.desc = acctSort.key === b.dataset.key ? !acctSort.desc : true;
    acctSort.key = b.dataset.key;
    drawAccountability(rows);
    table.querySelector(`th button[data-key="${b.dataset.key}"]`).focus();
  }));
}

function csvField(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// CSV with machine-readable values (seconds, dots) and the current sort, built in the browser: no request.
function accountabilityCsv(rows) {
  const keys = ["authority", "ward_code", "received", "acknowledged", "acknowledged_in_time", "resolved", "cancelled",
                "open", "overdue", "escalated", "mean_time_to_acknowledge_s", "mean_time_to_resolve_s", "mean_satisfaction", "ratings"];
  return [keys.join(","), ...sortedAcct(rows).map(r => keys.map(k => csvField(r[k])).join(","))].join("\n") + "\n";
}

function downloadCsv(rows) {
  const url = URL.createObjectURL(new Blob([accountabilityCsv(rows)], {type: "text/csv"}));
  const a = document.createElement("a");
  a.href = url; a.download = `accountability-${new Date().toISOString().slice(0, 10)}.csv`;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function drawGateways(gateways, wardNames) {
  document.getElementById("gateways").innerHTML = gateways.map(g =>
    `<tr><td>${escHtml(wardNames.get(g.ward) || g.ward)}</td><td>${escHtml(g.gateway)}</td>` +
    `<td class="gw-${escHtml(g.state)}">${escHtml(t("gw_" + g.state))}</td><td>${fmtNum(g.nodes)}</td>` +
    `<td>${fmtNum(g.unsent)}</td><td>${g.outbox_pending == null ? t("none") : fmtNum(g.outbox_pending)}</td>` +
    `<td class="radio-${escHtml(g.radio || "none")}">${g.radio ? escHtml(t("radio_" + g.radio)) : t("none")}</td>` +
    `<td>${fmtTime(g.last_seen, true)}</td></tr>`).join("");
}
