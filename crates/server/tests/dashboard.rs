//! The dashboard in headless Chromium (Debian's `chromium`, installed by scripts/test.sh): the
//! page loads with the bearer token in its URL fragment, lists a recorded appraisal, opens its
//! detail view, and is screenshotted.

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
