// The map of Huế: ward polygons (no tiles: the GeoJSON is the map), stations, cases; pan, zoom, layer switch.
"use strict";

const ALERT_COLOUR = {none: "#2e7d32", BD1: "#b7950b", BD2: "#d68910", BD3: "#c0392b"};
const PRIORITY_COLOUR = {1: "#c0392b", 2: "#e67e22", 3: "#2874a6", 4: "#7f8c8d"};
const OPEN_STATES = ["registered", "acknowledged", "dispatched"];

const fmMap = {map: null, wards: null, wardLabels: null, stations: null, cases: null, control: null, features: new Map()};

function initMap(fc) {
  const map = fmMap.map = L.map("map", {preferCanvas: true, attributionControl: false, zoomSnap: 0.25, keyboard: true});
  fmMap.wards = L.geoJSON(fc, {
    style: () => ({color: "#5d6d7e", weight: 1, fillColor: "#fdfefe", fillOpacity: 0.9}),
    onEachFeature: (f, layer) => { fmMap.features.set(f.properties.code, {feature: f, layer}); },
  }).addTo(map);
  fmMap.wardLabels = L.layerGroup(fc.features.map(f => {
    const centre = L.geoJSON(f).getBounds().getCenter();
    return L.marker(centre, {interactive: false, keyboard: false,
      icon: L.divIcon({className: "ward-label", html: "", iconSize: [110, 28], iconAnchor: [55, 14]})})
      .on("add", e => { e.target.getElement().dataset.ward = f.properties.code; });
  })).addTo(map);
  fmMap.stations = L.layerGroup().addTo(map);
  fmMap.cases = L.layerGroup().addTo(map);
  map.fitBounds(fmMap.wards.getBounds(), {padding: [8, 8]});
  map.on("zoomend", fitWardLabels);
  relabelMapControl();
}

// A ward's name is shown only where it fits inside the ward at this zoom (the centre's small wards
// overlap otherwise); an isolated ward's name is always shown. Zoom in to read the rest.
function fitWardLabels() {
  const map = fmMap.map;
  fmMap.wardLabels.eachLayer(m => {
    const el = m.getElement();
    const f = el && fmMap.features.get(el.dataset.ward);
    if (!f) return;
    const b = f.layer.getBounds();
    const ne = map.latLngToContainerPoint(b.getNorthEast()), sw = map.latLngToContainerPoint(b.getSouthWest());
    const fits = ne.x - sw.x > 90 && sw.y - ne.y > 36;
    el.style.visibility = fits || el.classList.contains("isolated") ? "visible" : "hidden";
  });
}

function relabelMapControl() {
  if (!fmMap.map) return;
  if (fmMap.control) fmMap.control.remove();
  fmMap.control = L.control.layers(null, {[t("wards")]: fmMap.wards, [t("stations")]: fmMap.stations,
                                          [t("cases")]: fmMap.cases}, {collapsed: false}).addTo(fmMap.map);
}

function escHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
}

// Wards shaded by open cases (deeper with more), outlined red when any is overdue, dashed when isolated.
function shadeWards(byWard, isolated) {
  for (const [code, {feature, layer}] of fmMap.features) {
    const w = byWard.get(code) || {open: 0, overdue: 0};
    const fill = w.open === 0 ? "#fdfefe" : w.open < 3 ? "#fadbd8" : w.open < 10 ? "#f1948a" : "#cb4335";
    const cut = isolated.has(code);
    layer.setStyle({fillColor: fill, color: w.overdue ? "#c0392b" : cut ? "#7b241c" : "#5d6d7e",
                    weight: w.overdue || cut ? 3 : 1, dashArray: cut ? "6 4" : null});
    const p = feature.properties;
    layer.bindTooltip(`<b>${escHtml(p.name)}</b><br>${escHtml(p.authority)}<br>${fmtNum(w.open)} ${t("open_cases")}` +
                      ` · ${fmtNum(w.overdue)} ${t("overdue_cases")}${cut ? "<br><b>" + t("isolated") + "</b>" : ""}`, {sticky: true});
  }
  fmMap.wardLabels.eachLayer(m => {
    const el = m.getElement();
    if (!el) return;
    const code = el.dataset.ward, f = fmMap.features.get(code);
    el.classList.toggle("isolated", isolated.has(code));
    el.textContent = (f ? f.feature.properties.name : code) + (isolated.has(code) ? " ⚠ " + t("isolated") : "");
  });
  fitWardLabels();
}

function trendArrow(s) {
  const r = s.trend_m_per_h;
  return r === null || r === undefined ? "" : r > 0.05 ? "↑" : r < -0.05 ? "↓" : "→";
}

function drawStationMarkers(stations, onPick) {
  fmMap.stations.clearLayers();
  for (const s of stations) {
    const alert = s.alert_state !== "none" ? s.alert_state : s.alert;
    const m = L.circleMarker([s.lat, s.lon], {radius: 8, color: "#1b2631", weight: 2, fillColor: ALERT_COLOUR[alert] || "#888", fillOpacity: 1});
    const level = s.level_m === null ? t("none") : fmtNum(s.level_m, 2) + " m";
    // Names always shown while they stay readable; with many stations, those on alert and the rest on hover.
    const label = () => `${escHtml(s.name)} ${level} ${trendArrow(s)}`;
    if (stations.length <= 40 || alert !== "none") {
      m.bindTooltip(label(), {permanent: true, direction: "right", className: "station-label"});
    } else {  // built on first hover: hundreds of unused tooltips cost the first render a tenth of a second
      m.once("mouseover", () => m.bindTooltip(label(), {direction: "right", className: "station-label"}).openTooltip());
    }
    m.on("click", () => onPick(s.id));
    fmMap.stations.addLayer(m);
  }
}

function drawCaseMarkers(cases, onPick) {
  fmMap.cases.clearLayers();
  for (const c of cases) {
    if (c.lat === null || c.lon === null || !OPEN_STATES.includes(c.state)) continue;
    const m = L.circleMarker([c.lat, c.lon], {radius: c.priority === 1 ? 7 : 5, color: "#fff", weight: 1,
                                              fillColor: PRIORITY_COLOUR[c.priority] || "#888", fillOpacity: 0.95});
    m.bindTooltip(`#${c.case_number} P${c.priority} ${escHtml(t("k_" + c.kind))} · ${escHtml(c.ward_name)}`);
    m.on("click", () => onPick(c.case_number));
    fmMap.cases.addLayer(m);
  }
}
