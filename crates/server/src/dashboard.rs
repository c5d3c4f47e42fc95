//! `GET /`: a self-contained page (no external assets) listing recent appraisals with a detail
//! view. The page itself holds no data; it reads the audit API with the bearer token the
//! operator types in (or passes in the URL fragment `#token=...`, which never reaches the server
//! logs), so the data stay behind the same token as `/v1/appraisals`.
//!
//! Filters (platform, verdict, policy) are the page's query parameters (`/?verdict=contraindicated`)
//! and are applied by the server (`/v1/appraisals?...`); the bar chart counts verdicts under the
//! platform and policy filters (`/v1/appraisals/counts`), drawn as inline SVG; the policies panel
//! lists `/v1/policies`. Contraindicated and refused rows show their failing checks.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloud-ra verifier</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} h2{font-size:1.1em} table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
tr.row{cursor:pointer} tr.row:hover{background:#f3f6fa}
.affirming{color:#176f2c;font-weight:600}.warning{color:#a86500;font-weight:600}
.contraindicated,.refused{color:#b00020;font-weight:600}
rect.affirming{fill:#2e8b47} rect.warning{fill:#d28a00} rect.contraindicated{fill:#c62828} rect.refused{fill:#7b1fa2}
td.failure{color:#b00020;overflow-wrap:anywhere;min-width:22em;max-width:36em} td.failure code{font-weight:600}
code,pre{font:12px ui-monospace,monospace} pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:40em}
#detail{margin-top:1.5em} #err,#policies-err{color:#b00020}
.panels{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start;margin:1em 0}
.panels section{flex:1 1 20em} #policies{width:auto} #filters label{margin-right:1em}
</style></head>
<body>
<h1>cloud-ra verifier — recent appraisals</h1>
<form id="auth"><label>Bearer token <input id="token" type="password" size="40" autocomplete="off"></label>
<button type="submit">Load</button></form>
<p id="err"></p>
<div class="panels">
<section><h2>Verdicts</h2><svg id="chart" width="380" height="112" role="img" aria-label="appraisals by verdict"></svg>
<p id="total"></p></section>
<section><h2>Policies</h2><p id="policies-err"></p>
<table id="policies"><thead><tr><th>name</th><th>version</th><th>source</th></tr></thead><tbody></tbody></table></section>
</div>
<form id="filters">
<label>platform <select id="f-platform"><option value="">any</option></select></label>
<label>verdict <select id="f-verdict"><option value="">any</option></select></label>
<label>policy <select id="f-policy"><option value="">any</option></select></label>
<button type="submit">Filter</button></form>
<p id="filter-note"></p>
<table id="list"><thead><tr><th>time (UTC)</th><th>platform</th><th>verdict</th><th>policy</th><th>failing check</th><th>nonce</th><th>key claims</th><th>id</th></tr></thead><tbody></tbody></table>
<div id="detail"></div>
<script>
"use strict";
const params = new URLSearchParams(location.hash.slice(1));
let token = params.get("token") || sessionStorage.getItem("cloud-ra-token") || "";
const $ = (id) => document.getElementById(id);
const PLATFORMS = ["snp", "tdx", "sgx", "nitro", "azure-snp-vtpm", "azure-tdx-vtpm", "azure-vtpm", "gce-vtpm", "unknown"];
const VERDICTS = ["affirming", "warning", "contraindicated", "refused"];
const FILTERS = ["platform", "verdict", "policy"];
function text(tag, s, cls) { const e = document.createElement(tag); e.textContent = s == null ? "" : String(s); if (cls) e.className = cls; return e; }
function svg(tag, attrs, s) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (s != null) e.textContent = String(s);
  return e;
}
async function api(path) {
  const r = await fetch(path, { headers: { "Authorization": "Bearer " + token } });
  if (!r.ok) { let d = r.status + ""; try { d = (await r.json()).detail || d; } catch (_) {} throw new Error(d); }
  return r.json();
}
// The filters: the page's query parameters, passed to the server as they are.
function filters() {
  const q = new URLSearchParams(location.search), out = {};
  for (const k of FILTERS) { const v = q.get(k); if (v) out[k] = v; }
  return out;
}
function query(f, keys) {
  const q = new URLSearchParams();
  for (const k of keys) if (f[k]) q.set(k, f[k]);
  return q.toString();
}
function option(sel, value, label) {
  if ([...sel.options].some((o) => o.value === value)) return;
  const o = document.createElement("option"); o.value = value; o.textContent = label || value; sel.append(o);
}
function setupFilters() {
  const f = filters();
  for (const p of PLATFORMS) option($("f-platform"), p);
  for (const v of VERDICTS) option($("f-verdict"), v);
  for (const k of FILTERS) { if (f[k]) option($("f-" + k), f[k]); $("f-" + k).value = f[k] || ""; }
  const note = FILTERS.filter((k) => f[k]).map((k) => k + " = " + f[k]);
  $("filter-note").textContent = note.length ? "filtered: " + note.join(", ") : "";
}
function keyClaims(c) {
  const out = [];
  for (const k of ["measurement", "mrtd", "mrenclave", "tcb_status", "vmpl", "debug", "nonce_bound", "simulated"]) {
    if (c && c[k] !== undefined) { const v = typeof c[k] === "string" && c[k].length > 24 ? c[k].slice(0, 24) + "…" : c[k]; out.push(k + "=" + v); }
  }
  return out.join(" ");
}
// The failing checks of a contraindicated or refused appraisal, with their detail (shortened;
// whole in the tooltip and the detail view).
function failureCell(a) {
  const td = document.createElement("td");
  if (a.status !== "contraindicated" && a.status !== "refused") return td;
  td.className = "failure";
  for (const f of a.failures || []) {
    const div = document.createElement("div"); div.className = "fail";
    const detail = f.detail || "";
    div.title = detail;
    div.append(text("code", f.check), document.createTextNode(": " + (detail.length > 160 ? detail.slice(0, 160) + "…" : detail)));
    td.append(div);
  }
  return td;
}
function chart(data) {
  const c = $("chart"); c.replaceChildren();
  const max = Math.max(1, ...VERDICTS.map((v) => data.counts[v] || 0));
  VERDICTS.forEach((v, i) => {
    const n = data.counts[v] || 0, y = 4 + i * 27, w = Math.round(220 * n / max);
    c.append(svg("text", { x: 0, y: y + 15 }, v));
    c.append(svg("rect", { id: "bar-" + v, class: v, x: 120, y: y, width: Math.max(w, 1), height: 20, "data-count": n }));
    c.append(svg("text", { id: "count-" + v, x: 126 + w, y: y + 15 }, n));
  });
  $("total").textContent = data.total + " appraisals" + (filters().platform || filters().policy ? " (platform/policy filter)" : "");
}
async function loadPolicies() {
  const tbody = $("policies").querySelector("tbody"); tbody.replaceChildren(); $("policies-err").textContent = "";
  try {
    const data = await api("/v1/policies");
    for (const p of data.policies) {
      const tr = document.createElement("tr"); tr.id = "policy-" + p.name;
      tr.append(text("td", p.name), text("td", p.version, "version"), text("td", p.source));
      tbody.append(tr);
      option($("f-policy"), p.name);
    }
    $("f-policy").value = filters().policy || "";
  } catch (e) { $("policies-err").textContent = "cannot load policies: " + e.message; }
}
async function load() {
  $("err").textContent = "";
  const tbody = $("list").querySelector("tbody");
  tbody.replaceChildren();
  const f = filters();
  try {
    const q = query(f, FILTERS);
    const data = await api("/v1/appraisals?limit=100" + (q ? "&" + q : ""));
    for (const a of data.appraisals) {
      const tr = document.createElement("tr");
      tr.className = "row"; tr.id = "row-" + a.id; tr.dataset.id = a.id;
      tr.append(text("td", new Date(a.created_ms).toISOString()), text("td", a.platform), text("td", a.status, a.status),
        text("td", a.policy_id || ""), failureCell(a), text("td", a.nonce_source), text("td", keyClaims(a.claims)), text("td", a.id.slice(0, 12)));
      tr.addEventListener("click", () => show(a.id));
      tbody.append(tr);
    }
    if (!data.appraisals.length) { const tr = document.createElement("tr"); tr.append(text("td", Object.keys(f).length ? "no appraisals match the filter" : "no appraisals yet")); tbody.append(tr); }
    const cq = query(f, ["platform", "policy"]);
    chart(await api("/v1/appraisals/counts" + (cq ? "?" + cq : "")));
    await loadPolicies();
    const want = params.get("id"); if (want) await show(want);
  } catch (e) { $("err").textContent = "cannot load appraisals: " + e.message; }
}
async function show(id) {
  const d = $("detail"); d.replaceChildren();
  try {
    const a = await api("/v1/appraisals/" + encodeURIComponent(id));
    d.append(text("h2", "Appraisal " + a.id));
    const t = document.createElement("table"); t.id = "detail-table";
    for (const [k, v] of [["time", new Date(a.created_ms).toISOString()], ["platform", a.platform], ["detected", a.detected],
      ["verified", a.verified], ["verdict", a.status], ["policy", a.policy_id || ""], ["session", a.session_id || "(one-shot)"], ["client", a.client],
      ["nonce", a.nonce || ""], ["nonce source", a.nonce_source], ["evidence sha256", a.evidence_sha256], ["media type", a.media_type]]) {
      const tr = document.createElement("tr"); tr.append(text("th", k), text("td", v, k === "verdict" ? v : "")); t.append(tr);
    }
    d.append(t);
    d.append(text("h3", "Failures"), text("pre", JSON.stringify(a.failures, null, 2)));
    d.append(text("h3", "Warnings"), text("pre", JSON.stringify(a.warnings, null, 2)));
    d.append(text("h3", "Claims"), text("pre", JSON.stringify(a.claims, null, 2)));
    d.append(text("h3", "Result (EAR, JWT)"), text("pre", a.token || "(none: refused)"));
  } catch (e) { d.append(text("p", "cannot load appraisal: " + e.message)); }
}
$("auth").addEventListener("submit", (ev) => { ev.preventDefault(); token = $("token").value; sessionStorage.setItem("cloud-ra-token", token); load(); });
// Applying filters changes the page's query (the fragment, with the token, stays client-side).
$("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = {};
  for (const k of FILTERS) f[k] = $("f-" + k).value;
  const q = query(f, FILTERS);
  history.replaceState(null, "", location.pathname + (q ? "?" + q : "") + location.hash);
  setupFilters(); load();
});
setupFilters();
if (token) load();
</script>
</body></html>
"##;

pub async fn page() -> Response {
    let mut r = PAGE.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}
