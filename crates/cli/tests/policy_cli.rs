//! `cloud-ra policy push|list|show|delete` against a real `cloud-ra serve`: the admin token from
//! `--token-file` or `CLOUD_RA_ADMIN_TOKEN`, human and `--json` output, the validation errors of
//! `verify --policy` (locally and from the verifier), and a pushed policy naming the results of
//! the appraisals made under it.

mod cli_common;

use cli_common::{Scratch, bin, code, json, serve, stderr, stdout};

const TOKEN: &str = "cli-policy-admin-token-0123456789";

#[test]
fn push_list_show_delete() {
    let dir = Scratch::new("policy");
    let (mut server, url) = serve(&dir.0, TOKEN);
    let token_file = dir.file("token", format!("{TOKEN}\n").as_bytes());
    let policy = dir.file("strict.toml", b"# reference values\nallow_debug = false\n[snp]\nvmpl = 0\n");
    let with_file = |args: &[&str]| {
        let mut c = bin();
        c.args(args).args(["--verifier", &url, "--token-file", &token_file]).env_remove("CLOUD_RA_ADMIN_TOKEN");
        c.output().expect("cloud-ra runs")
    };
    let with_env = |args: &[&str]| {
        let mut c = bin();
        c.args(args).args(["--verifier", &url]).env("CLOUD_RA_ADMIN_TOKEN", TOKEN);
        c.output().expect("cloud-ra runs")
    };

    // push (token from the file): NAME@VERSION created, then replaced.
    let out = with_file(&["policy", "push", "strict", &policy]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = stdout(&out);
    let id = line.split_whitespace().next().expect("an id").to_string();
    assert!(id.starts_with("strict@") && id.len() == "strict@".len() + 16, "{line}");
    assert!(line.trim_end().ends_with("created"), "{line}");
    let out = with_env(&["policy", "push", "strict", &policy, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = json(&out);
    assert_eq!((v["id"].as_str(), v["created"].as_bool()), (Some(id.as_str()), Some(false)), "{v}");

    // list: the default and strict, human and JSON.
    let out = with_env(&["policy", "list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let version = &id["strict@".len()..];
    assert!(text.lines().any(|l| l.starts_with("default ") && l.contains("config")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("strict ") && l.contains(version) && l.contains("store")), "{text}");
    let out = with_file(&["policy", "list", "--json"]);
    let v = json(&out);
    let names: Vec<&str> = v["policies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["default", "strict"]);

    // show: the text as pushed on stdout (round trip), the id on stderr.
    let out = with_file(&["policy", "show", "strict"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), std::fs::read_to_string(&policy).unwrap());
    assert!(stderr(&out).contains(&id), "{}", stderr(&out));
    let v = json(&with_env(&["policy", "show", "strict", "--json"]));
    assert_eq!(v["version"], version);

    // An appraisal under it names it in its result.
    let nonce = b"policy-cli-nonce-0123456789abcdef";
    let bundle = dir.path("bundle.json");
    let out = bin()
        .args(["attest", "--platform", "sim-snp", "--extended", "--nonce", &hex::encode(nonce), "-o", &bundle])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/attest/auto?policy=strict&nonce={}", hex::encode(nonce)))
        .header("content-type", "application/vnd.cloud-ra.evidence+json")
        .body(std::fs::read(&bundle).unwrap())
        .send()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
    assert_eq!(answer["policy"], id.as_str(), "{answer}");

    // Invalid policies: refused locally with verify --policy's error (exit 1), nothing sent.
    let bad = dir.file("bad.toml", b"[snp]\nno_such_knob = 1\n");
    let out = with_file(&["policy", "push", "strict", &bad]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("policy:") && stderr(&out).contains("no_such_knob"), "{}", stderr(&out));
    let out = with_file(&["policy", "push", "a/b", &policy]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("policy name"), "{}", stderr(&out));
    // The verifier's refusals: the reserved default, a wrong token, no token.
    let out = with_file(&["policy", "push", "default", &policy]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("policy.reserved"), "{}", stderr(&out));
    let wrong = dir.file("wrong", b"not-the-admin-token-000000\n");
    let out = bin()
        .args(["policy", "list", "--verifier", &url, "--token-file", &wrong])
        .env_remove("CLOUD_RA_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    let out = bin().args(["policy", "list", "--verifier", &url]).env_remove("CLOUD_RA_ADMIN_TOKEN").output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("CLOUD_RA_ADMIN_TOKEN"), "{}", stderr(&out));
    // There is no flag for the token itself.
    let out = bin().args(["policy", "list", "--verifier", &url, "--token", TOKEN]).output().unwrap();
    assert_eq!(code(&out), 1, "no --token flag");

    // delete, then show and delete again: unknown.
    let out = with_env(&["policy", "delete", "strict"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "deleted strict");
    let out = with_env(&["policy", "show", "strict"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("policy.unknown"), "{}", stderr(&out));
    let out = with_file(&["policy", "delete", "strict", "--json"]);
    assert_eq!(code(&out), 1);
    // A verifier that is not there: exit 3 (as attest --verifier).
    let out = bin()
        .args(["policy", "list", "--verifier", "http://127.0.0.1:9"])
        .env("CLOUD_RA_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));

    let _ = server.kill();
    let _ = server.wait();
}
