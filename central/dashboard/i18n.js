// Every label of the dashboard in Vietnamese (the default) and English; dates and numbers in the locale.
"use strict";
const FM_I18N = {
  vi: {
    title: "floodmesh · Trung tâm IOC Huế", login: "Đăng nhập", user: "Tên đăng nhập", password: "Mật khẩu",
    logout: "Đăng xuất", wrong_login: "Sai tên đăng nhập hoặc mật khẩu", too_many: "Đăng nhập sai quá nhiều lần: đợi {s} giây rồi thử lại",
    login_failed: "Đăng nhập thất bại ({status}); thử lại hoặc báo quản trị", session_ended: "Phiên đã hết: đăng nhập lại",
    logged_out: "Đã đăng xuất", live_on: "Trực tiếp", live_off: "Mất kết nối trực tiếp: đang kết nối lại…",
    mqtt_down: "MQTT mất kết nối", unreachable: "Không tới được máy chủ trung tâm: {err}; kiểm tra mạng rồi tải lại",
    map: "Bản đồ Huế", wards: "Phường/xã", stations: "Trạm đo", cases: "Sự vụ", isolated: "Bị cô lập",
    queue: "Hàng đợi sự vụ", all: "Tất cả", ward: "Phường/xã", state: "Trạng thái", kind: "Loại",
    people: "Người", created: "Lúc tạo", priority: "Ưu tiên", overdue: "Quá hạn", by: "Định vị",
    detail: "Chi tiết sự vụ", close: "Đóng", history: "Lịch sử", who: "Ai", when: "Khi nào", path: "Qua",
    event: "Sự kiện", note: "Ghi chú", actions: "Thao tác", rating: "Mức hài lòng (1–5)",
    act_acknowledged: "Xác nhận (thay mặt)", act_dispatched: "Điều động", act_escalated: "Chuyển cấp trên",
    act_resolved: "Đã giải quyết", act_rated: "Ghi mức hài lòng", act_cancelled: "Hủy",
    conflict: "Không thực hiện được: {why}. Tải lại sự vụ và chọn thao tác khác.",
    forbidden: "Bạn không có quyền thực hiện thao tác này; liên hệ IOC.", done: "Đã ghi: {what}",
    station: "Trạm", river: "Sông", level: "Mực nước (m)", alert: "Báo động", trend: "Xu hướng", at: "Lúc",
    chart: "Mực nước", h24: "24 giờ", d7: "7 ngày", no_readings: "Chưa có số đo trong khoảng này", chart_until: "Đến số đo mới nhất lúc {at}",
    flagged: "số đo bị gắn cờ chất lượng",
    accountability: "Trách nhiệm giải trình", authority: "Cơ quan", received: "Tiếp nhận",
    ack_in_time: "Xác nhận đúng hạn", resolved: "Đã giải quyết", open: "Đang mở", mean_ack: "TB xác nhận",
    mean_resolve: "TB giải quyết", satisfaction: "Hài lòng", period: "Kỳ", export_csv: "Xuất CSV",
    d1: "24 giờ", d30: "30 ngày", gateways: "Cổng kết nối (gateway)", gateway: "Gateway", last_seen: "Lần cuối",
    nodes: "Thiết bị", unsent: "Chưa gửi", gw_online: "Trực tuyến", gw_quiet: "Im lặng", gw_silent: "Mất liên lạc",
    gw_isolated: "Bị cô lập", outbox: "Hàng đợi gửi", radio: "Sóng vô tuyến", radio_up: "Hoạt động",
    radio_down: "Mất kết nối", radio_connecting: "Đang kết nối",
    banner: "BÁO ĐỘNG LŨ", banner_more: "{n} trạm ở mức BĐ2 trở lên", mute: "Tắt âm", unmute: "Bật âm",
    new_p1: "Sự vụ P1 mới #{n}", none: "–", language: "English",
    st_registered: "Mới", st_acknowledged: "Đã xác nhận", st_dispatched: "Đã điều động", st_resolved: "Đã giải quyết",
    st_cancelled: "Đã hủy", k_medical: "Y tế", k_evacuation: "Sơ tán", k_help: "Cần giúp",
    k_trapped: "Mắc kẹt", k_supplies: "Nhu yếu phẩm",
    ev_created: "tạo", ev_notified: "báo tin", ev_acknowledged: "xác nhận", ev_dispatched: "điều động",
    ev_resolved: "giải quyết", ev_rated: "đánh giá", ev_cancelled: "hủy", ev_escalated: "chuyển cấp", ev_merged: "gộp",
    via_gateway: "gateway", via_radio: "bộ đàm", via_ioc: "IOC", via_central: "trung tâm", via_node: "nút SOS",
    a_none: "Bình thường", a_BD1: "BĐ1", a_BD2: "BĐ2", a_BD3: "BĐ3", open_cases: "mở", overdue_cases: "quá hạn",
    keyboard: "Phím tắt: / tìm lọc · j/k chọn sự vụ · Enter mở · Esc đóng · l đổi ngôn ngữ",
  },
  en: {
    title: "floodmesh · Huế IOC", login: "Log in", user: "User name", password: "Password",
    logout: "Log out", wrong_login: "Wrong user name or password", too_many: "Too many failed logins: wait {s} s, then try again",
    login_failed: "Login failed ({status}); try again or ask an administrator", session_ended: "Session ended: log in again",
    logged_out: "Logged out", live_on: "Live", live_off: "Live updates lost: reconnecting…",
    mqtt_down: "MQTT disconnected", unreachable: "Central unreachable: {err}; check the network, then reload",
    map: "Map of Huế", wards: "Wards", stations: "Stations", cases: "Cases", isolated: "Isolated",
    queue: "Case queue", all: "All", ward: "Ward", state: "State", kind: "Kind",
    people: "People", created: "Created", priority: "Priority", overdue: "Overdue", by: "Located by",
    detail: "Case detail", close: "Close", history: "History", who: "Who", when: "When", path: "Path",
    event: "Event", note: "Note", actions: "Actions", rating: "Satisfaction (1–5)",
    act_acknowledged: "Acknowledge (on behalf)", act_dispatched: "Dispatch", act_escalated: "Escalate",
    act_resolved: "Resolve", act_rated: "Record satisfaction", act_cancelled: "Cancel",
    conflict: "Not possible now: {why}. Reload the case and choose another action.",
    forbidden: "Your role may not do this; ask the IOC.", done: "Recorded: {what}",
    station: "Station", river: "River", level: "Level (m)", alert: "Alert", trend: "Trend", at: "At",
    chart: "River level", h24: "24 h", d7: "7 days", no_readings: "No readings in this period", chart_until: "Up to the latest reading, taken {at}",
    flagged: "quality-flagged readings",
    accountability: "Accountability", authority: "Authority", received: "Received",
    ack_in_time: "Acknowledged in time", resolved: "Resolved", open: "Open", mean_ack: "Mean to acknowledge",
    mean_resolve: "Mean to resolve", satisfaction: "Satisfaction", period: "Period", export_csv: "Export CSV",
    d1: "24 hours", d30: "30 days", gateways: "Gateways", gateway: "Gateway", last_seen: "Last seen",
    nodes: "Nodes", unsent: "Unsent", gw_online: "Online", gw_quiet: "Quiet", gw_silent: "Silent",
    gw_isolated: "Isolated", outbox: "Outbox", radio: "Radio link", radio_up: "Up", radio_down: "Down",
    radio_connecting: "Connecting",
    banner: "FLOOD ALERT", banner_more: "{n} stations at BĐ2 or above", mute: "Mute", unmute: "Unmute",
    new_p1: "New P1 case #{n}", none: "–", language: "Tiếng Việt",
    st_registered: "New", st_acknowledged: "Acknowledged", st_dispatched: "Dispatched", st_resolved: "Resolved",
    st_cancelled: "Cancelled", k_medical: "Medical", k_evacuation: "Evacuation", k_help: "Help",
    k_trapped: "Trapped", k_supplies: "Supplies",
    ev_created: "created", ev_notified: "notified", ev_acknowledged: "acknowledged", ev_dispatched: "dispatched",
    ev_resolved: "resolved", ev_rated: "rated", ev_cancelled: "cancelled", ev_escalated: "escalated", ev_merged: "merged",
    via_gateway: "gateway", via_radio: "radio", via_ioc: "IOC", via_central: "central", via_node: "SOS button",
    a_none: "Normal", a_BD1: "BĐ1", a_BD2: "BĐ2", a_BD3: "BĐ3", open_cases: "open", overdue_cases: "overdue",
    keyboard: "Keys: / filter · j/k select case · Enter open · Esc close · l switch language",
  },
};

const fm = {lang: "vi"};

function t(key, params) {
  let s = (FM_I18N[fm.lang] || FM_I18N.vi)[key] ?? FM_I18N.en[key] ?? key;
  for (const [k, v] of Object.entries(params || {})) s = s.replace("{" + k + "}", String(v));
  return s;
}

function locale() { return fm.lang === "vi" ? "vi-VN" : "en-GB"; }

// Intl formatters are costly to build and a wall screen formats thousands of values: one per locale and style.
const fmFormats = new Map();
function formatter(kind, opts) {
  const key = kind + locale() + JSON.stringify(opts);
  if (!fmFormats.has(key)) fmFormats.set(key, kind === "n" ? new Intl.NumberFormat(locale(), opts) : new Intl.DateTimeFormat(locale(), opts));
  return fmFormats.get(key);
}

function fmtNum(n, digits) {
  if (n === null || n === undefined) return t("none");
  return formatter("n", {minimumFractionDigits: digits ?? 0, maximumFractionDigits: digits ?? 0}).format(Number(n));
}

function fmtTime(iso, withDate) {
  if (!iso) return t("none");
  const opts = {timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit"};
  if (withDate) Object.assign(opts, {day: "2-digit", month: "2-digit"});
  return formatter("d", opts).format(new Date(iso));
}

function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return t("none");
  return seconds < 90 ? fmtNum(seconds) + " s" : seconds < 5400 ? fmtNum(seconds / 60, 1) + " min" : fmtNum(seconds / 3600, 1) + " h";
}

function applyLabels() {
  document.documentElement.lang = fm.lang;
  document.title = t("title");
  document.querySelectorAll("[data-t]").forEach(el => { el.textContent = t(el.dataset.t); });
  document.querySelectorAll("[data-t-title]").forEach(el => { el.title = t(el.dataset.tTitle); });
  document.querySelectorAll("[data-t-aria]").forEach(el => { el.setAttribute("aria-label", t(el.dataset.tAria)); });
}
