//! The dashboard in headless Chromium (Debian's `chromium`, installed by scripts/test.sh): the
//! page loads with the bearer token in its URL fragment, lists a recorded appraisal, opens its
//! detail view, and is screenshotted; the failing check of contraindicated rows, the server-side
//! filters (platform, verdict, policy), the verdict chart and the policies panel.

mod common;
use common::*;

/// Runs headless Chromium on `url` with `extra` flags (and a bounded virtual time); returns stdout.
fn run_chromium(url: &str, profile: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["--virtual-time-budget=10000"];
    args.extend_from_slice(extra);
    args.push(url);
    let out = cloud_ra_sim::chromium::headless(&args, profile);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_lists_and_details_an_appraisal() {
    let dir = scratch("dashboard");
    let s = TestServer::start(config(&dir, &fresh_db("sqlite", &dir).await)).await;
    let c = client();
    let (url, nonce) = new_session(&c, &s, "").await;
    let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
    assert_eq!(status, 200, "{body}");
    let id = body["appraisal"].as_str().expect("appraisal id").to_string();
    let base = s.base.clone();
    let profile = dir.join("chromium-profile");
    let (list_dom, wrong_dom, detail_dom, shot) = tokio::task::spawn_blocking({
        let (dir, id) = (dir.clone(), id.clone());
        move || {
            let list = run_chromium(&format!("{base}/#token={TOKEN}"), &profile, &["--dump-dom"]);
            let wrong = run_chromium(&format!("{base}/#token=not-the-token-0000"), &profile, &["--dump-dom"]);
            let detail = run_chromium(&format!("{base}/#token={TOKEN}&id={id}"), &profile, &["--dump-dom"]);
            let shot = dir.join("dashboard.png");
            run_chromium(
                &format!("{base}/#token={TOKEN}&id={id}"),
                &profile,
                &[&format!("--screenshot={}", shot.display()), "--window-size=1280,1600"],
            );
            (list, wrong, detail, shot)
        }
    })
    .await
    .unwrap();
    // The list shows the recorded appraisal's row, platform and verdict.
    assert!(list_dom.contains(&format!("id=\"row-{id}\"")), "{list_dom}");
    assert!(list_dom.contains(">snp<") && list_dom.contains(">warning<"), "{list_dom}");
    assert!(list_dom.contains("nonce_bound=true"), "{list_dom}");
    // Without the right token the page shows no appraisal, only the refusal.
    assert!(!wrong_dom.contains(&id), "{wrong_dom}");
    assert!(wrong_dom.contains("cannot load appraisals"), "{wrong_dom}");
    // The detail view: its id, claims and the signed result.
    assert!(detail_dom.contains(&format!("Appraisal {id}")), "{detail_dom}");
    assert!(detail_dom.contains("verifier-issued"), "{detail_dom}");
    assert!(detail_dom.contains(body["result"].as_str().unwrap()), "the EAR is shown");
    assert!(detail_dom.contains("\"nonce_bound\": true"), "claims shown");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot ({} bytes)", png.len());
    eprintln!("dashboard screenshot: {}", shot.display());
    s.stop().await;
}

/// The text of the element with `id` in a dumped DOM (up to its first closing tag).
fn element_text<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let rest = &dom[at..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(&rest[open..open + close])
}

/// The `<tr>` with `id` in a dumped DOM.
fn row<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let at = dom.find(&format!("<tr class=\"row\" id=\"{id}\""))?;
    let end = dom[at..].find("</tr>")?;
    Some(&dom[at..at + end])
}

/// Filters (page query parameters, applied by the server), the failing check in each
/// contraindicated row, the verdict chart and the policies panel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_filters_chart_and_policies() {
    let dir = scratch("dashboard-filters");
    let s = TestServer::start(config(&dir, &fresh_db("sqlite", &dir).await)).await;
    let c = client();
    let zero48 = "00".repeat(48);
    let r = c
        .put(s.url("/v1/policies/strict"))
        .bearer_auth(TOKEN)
        .body(format!("[snp]\nmeasurement = \"{zero48}\"\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let strict = json(r).await["version"].as_str().unwrap().to_string();
    // One appraisal under the default (warning), two under strict (contraindicated).
    let mut ids = Vec::new();
    for q in ["", "?policy=strict", "?policy=strict"] {
        let (url, nonce) = new_session(&c, &s, q).await;
        let (status, body) = submit(&c, &url, MT_BUNDLE, sim_bundle(&nonce)).await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["appraisal"].as_str().unwrap().to_string());
    }
    let (warn, bad) = (ids[0].clone(), ids[1].clone());
    let base = s.base.clone();
    let profile = dir.join("chromium-profile");
    let shot = dir.join("dashboard-filters.png");
    let doms = tokio::task::spawn_blocking({
        let shot = shot.clone();
        move || {
            run_chromium(
                &format!("{base}/#token={TOKEN}"),
                &profile,
                &[&format!("--screenshot={}", shot.display()), "--window-size=1280,1000"],
            );
            [
                format!("{base}/#token={TOKEN}"),
                format!("{base}/?verdict=contraindicated#token={TOKEN}"),
                format!("{base}/?policy=default#token={TOKEN}"),
                format!("{base}/?platform=tdx#token={TOKEN}"),
            ]
            .map(|u| run_chromium(&u, &profile, &["--dump-dom"]))
        }
    })
    .await
    .unwrap();
    let [all, contra, by_policy, tdx] = doms;

    // Every row names its policy; a contraindicated row shows its failing check and detail.
    let bad_row = row(&all, &format!("row-{bad}")).unwrap_or_else(|| panic!("{all}"));
    assert!(bad_row.contains(&format!("strict@{strict}")), "{bad_row}");
    assert!(bad_row.contains("<td class=\"failure\">"), "{bad_row}");
    assert!(bad_row.contains("<code>policy.reference_value</code>: "), "{bad_row}");
    assert!(bad_row.contains("MEASUREMENT"), "the failure's detail: {bad_row}");
    let warn_row = row(&all, &format!("row-{warn}")).unwrap_or_else(|| panic!("{all}"));
    assert!(warn_row.contains(">default@") && !warn_row.contains("class=\"failure\""), "{warn_row}");

    // The chart: counts by verdict, drawn in the page.
    assert!(all.contains("<svg id=\"chart\""), "{all}");
    assert_eq!(element_text(&all, "count-contraindicated"), Some("2"), "{all}");
    assert_eq!(element_text(&all, "count-warning"), Some("1"));
    assert_eq!(element_text(&all, "count-affirming"), Some("0"));
    assert!(all.contains("id=\"bar-contraindicated\""));
    assert_eq!(element_text(&all, "total"), Some("3 appraisals"));

    // The policies panel: names and versions.
    let panel = &all[all.find("id=\"policies\"").expect("policies panel")..];
    assert!(panel.contains("<tr id=\"policy-strict\"><td>strict</td><td class=\"version\">"), "{panel}");
    assert!(panel.contains(&strict) && panel.contains("<tr id=\"policy-default\">"), "{panel}");

    // Filters are applied by the server: only the matching rows.
    assert!(contra.contains(&format!("row-{bad}")) && contra.contains(&format!("row-{}", ids[2])), "{contra}");
    assert!(!contra.contains(&format!("row-{warn}")), "{contra}");
    assert!(contra.contains("filtered: verdict = contraindicated"), "{contra}");
    assert!(by_policy.contains(&format!("row-{warn}")) && !by_policy.contains(&format!("row-{bad}")), "{by_policy}");
    assert_eq!(element_text(&by_policy, "count-contraindicated"), Some("0"), "counts follow the policy filter");
    assert_eq!(element_text(&by_policy, "count-warning"), Some("1"));
    assert!(!tdx.contains("class=\"row\"") && tdx.contains("no appraisals match the filter"), "{tdx}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "a screenshot");
    eprintln!("dashboard screenshot: {}", shot.display());
    s.stop().await;
}
