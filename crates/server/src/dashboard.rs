//! `GET /`: a self-contained page (no external assets) listing recent appraisals with a detail
//! view. The page itself holds no data; it reads the audit listing with the bearer token the
//! operator types in (or passes in the URL fragment `#token=...`, which never reaches the server
//! logs), so the data stay behind the same token as `/v1/appraisals`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloud-ra verifier</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
tr.row{cursor:pointer} tr.row:hover{background:#f3f6fa}
.affirming{color:#176f2c;font-weight:600}.warning{color:#a86500;font-weight:600}
.contraindicated,.refused{color:#b00020;font-weight:600}
code,pre{font:12px ui-monospace,monospace} pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:40em}
#detail{margin-top:1.5em} #err{color:#b00020}
</style></head>
<body>
<h1>cloud-ra verifier — recent appraisals</h1>
<form id="auth"><label>Bearer token <input id="token" type="password" size="40" autocomplete="off"></label>
<button type="submit">Load</button></form>
<p id="err"></p>
<table id="list"><thead><tr><th>time (UTC)</th><th>platform</th><th>verdict</th><th>nonce</th><th>key claims</th><th>id</th></tr></thead><tbody></tbody></table>
<div id="detail"></div>
<script>
"use strict";
const params = new URLSearchParams(location.hash.slice(1));
let token = params.get("token") || sessionStorage.getItem("cloud-ra-token") || "";
const $ = (id) => document.getElementById(id);
function text(tag, s, cls) { const e = document.createElement(tag); e.textContent = s == null ? "" : String(s); if (cls) e.className = cls; return e; }
async function api(path) {
  const r = await fetch(path, { headers: { "Authorization": "Bearer " + token } });
  if (!r.ok) { let d = r.status + ""; try { d = (await r.json()).detail || d; } catch (_) {} throw new Error(d); }
  return r.json();
}
function keyClaims(c) {
  const out = [];
  for (const k of ["measurement", "mrtd", "mrenclave", "tcb_status", "vmpl", "debug", "nonce_bound", "simulated"]) {
    if (c && c[k] !== undefined) { const v = typeof c[k] === "string" && c[k].length > 24 ? c[k].slice(0, 24) + "…" : c[k]; out.push(k + "=" + v); }
  }
  return out.join(" ");
}
async function load() {
  $("err").textContent = "";
  const tbody = $("list").querySelector("tbody");
  tbody.replaceChildren();
  try {
    const data = await api("/v1/appraisals?limit=100");
    for (const a of data.appraisals) {
      const tr = document.createElement("tr");
      tr.className = "row"; tr.id = "row-" + a.id; tr.dataset.id = a.id;
      tr.append(text("td", new Date(a.created_ms).toISOString()), text("td", a.platform), text("td", a.status, a.status),
        text("td", a.nonce_source), text("td", keyClaims(a.claims)), text("td", a.id.slice(0, 12)));
      tr.addEventListener("click", () => show(a.id));
      tbody.append(tr);
    }
    if (!data.appraisals.length) { const tr = document.createElement("tr"); tr.append(text("td", "no appraisals yet")); tbody.append(tr); }
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
      ["verified", a.verified], ["verdict", a.status], ["session", a.session_id || "(one-shot)"], ["client", a.client],
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
