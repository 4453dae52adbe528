//! The proxy driven by a real PKCS#11 consumer, OpenSC's `pkcs11-tool`, in front of SoftHSM2.
//! One process per command, as a user would run them: the faults whose state must survive a
//! process (PIN counter, removal) use the proxy's `state_file`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{LABEL, PIN, SOFTHSM, Token, proxy_so};

/// Signs the test data directly with SoftHSM, to compare with what comes through the proxy.
fn direct_signature(token: &Token, mechanism: &str) -> Vec<u8> {
    let input = token.data_file();
    let output = token.path("direct.sig");
    let out = Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &token.softhsm_conf)
        .args([
            "--module",
            SOFTHSM,
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            PIN,
        ])
        .args(["--sign", "--id", "01", "--mechanism", mechanism])
        .arg("--input-file")
        .arg(&input)
        .arg("--output-file")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(output).unwrap()
}

#[test]
fn forwards_info_slots_and_signature() {
    let token = Token::new();
    let conf = token.proxy_conf("");

    let info = token.tool(&conf, &["--show-info"]);
    info.assert_ok();
    assert!(
        info.text().contains("Paraphe test proxy"),
        "{}",
        info.text()
    );
    assert!(
        info.text().contains("Cryptoki version 2.40"),
        "{}",
        info.text()
    );

    let slots = token.tool(&conf, &["--list-slots"]);
    slots.assert_ok();
    assert!(
        slots.text().contains(&format!("(0x{:x})", token.slot)),
        "{}",
        slots.text()
    );
    assert!(
        slots.text().contains("token label        : T"),
        "{}",
        slots.text()
    );

    token
        .sign(&conf, "SHA256-RSA-PKCS", "proxy.sig")
        .assert_ok();
    let through_proxy = std::fs::read(token.path("proxy.sig")).unwrap();
    assert_eq!(through_proxy.len(), 256, "RSA-2048 signature");
    // PKCS#1 v1.5 is deterministic: the proxy must hand back exactly SoftHSM's signature.
    assert_eq!(through_proxy, direct_signature(&token, "SHA256-RSA-PKCS"));
}

#[test]
fn stats_count_calls_and_accumulate_across_processes() {
    let token = Token::new();
    let conf = token.proxy_conf("");

    token.sign(&conf, "SHA256-RSA-PKCS", "1.sig").assert_ok();
    assert_eq!(token.stat("C_Login"), 1);
    assert_eq!(token.stat("C_Login_user"), 1);
    assert_eq!(token.stat("C_Login_context_specific"), 0);
    assert_eq!(token.stat("C_SignInit"), 1);
    assert_eq!(token.stat("C_Sign"), 1);
    assert_eq!(token.stat("C_Initialize"), 1);
    assert_eq!(token.stat("C_Finalize"), 1);
    assert!(token.stat("C_GetSlotList") >= 1);

    token.sign(&conf, "SHA256-RSA-PKCS", "2.sig").assert_ok();
    assert_eq!(token.stat("C_Login"), 2);
    assert_eq!(token.stat("C_Login_user"), 2);
    assert_eq!(token.stat("C_Sign"), 2);
    assert_eq!(token.stat("C_Finalize"), 2);
}

#[test]
fn removal_after_ops_reports_device_removed_in_the_same_process() {
    let token = Token::new();
    let conf = token.proxy_conf("remove_after_ops = 1");
    // pkcs11-tool signs once per run; `--hash` makes it use the session again afterwards.
    let run = token.tool(
        &conf,
        &[
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            PIN,
            "--sign",
            "--id",
            "01",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--input-file",
            token.data_file().to_str().unwrap(),
            "--output-file",
            token.path("first.sig").to_str().unwrap(),
            "--hash",
        ],
    );
    run.assert_fails_with("C_DigestInit failed: rv = CKR_DEVICE_REMOVED");
    assert_eq!(
        std::fs::read(token.path("first.sig")).unwrap().len(),
        256,
        "the first signature succeeded before the removal"
    );
}

#[test]
fn removal_after_ops_persists_across_processes() {
    let token = Token::new();
    let conf = token.proxy_conf("remove_after_ops = 2");

    token.sign(&conf, "SHA256-RSA-PKCS", "1.sig").assert_ok();
    token.sign(&conf, "SHA256-RSA-PKCS", "2.sig").assert_ok();
    // The third signature finds no card.
    token
        .sign(&conf, "SHA256-RSA-PKCS", "3.sig")
        .assert_fails_with("No slot with token named \"T\" found");
    assert_eq!(token.stat("C_Sign"), 2);

    let listed = token.tool(&conf, &["--list-token-slots"]);
    listed.assert_ok();
    assert!(
        !listed.text().contains("token label        : T"),
        "{}",
        listed.text()
    );
    let all = token.tool(&conf, &["--list-slots"]);
    all.assert_ok();
    assert!(all.text().contains("(empty)"), "{}", all.text());

    // Addressing the slot directly: the reader is there, the card is not.
    let slot = format!("{}", token.slot);
    token
        .tool(
            &conf,
            &["--slot", &slot, "--login", "--pin", PIN, "--list-objects"],
        )
        .assert_fails_with("CKR_TOKEN_NOT_PRESENT");

    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(token.path("state.json")).unwrap()).unwrap();
    assert_eq!(state["ops_succeeded"], 2);
    assert_eq!(state["removed_slots"], serde_json::json!([token.slot]));
}

#[test]
fn removal_error_can_be_token_not_present() {
    let token = Token::new();
    let conf = token.proxy_conf("remove_after_ops = 1\nremoval_error = \"token_not_present\"");
    let run = token.tool(
        &conf,
        &[
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            PIN,
            "--sign",
            "--id",
            "01",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--input-file",
            token.data_file().to_str().unwrap(),
            "--output-file",
            token.path("first.sig").to_str().unwrap(),
            "--hash",
        ],
    );
    run.assert_fails_with("C_DigestInit failed: rv = CKR_TOKEN_NOT_PRESENT");
}

/// The token flags line of `pkcs11-tool --list-token-slots`.
fn token_flags(token: &Token, conf: &std::path::Path) -> String {
    let listed = token.tool(conf, &["--list-token-slots"]);
    listed.assert_ok();
    listed
        .text()
        .lines()
        .find(|l| l.contains("token flags"))
        .unwrap_or_else(|| panic!("no token flags in:\n{}", listed.text()))
        .to_owned()
}

fn login(token: &Token, conf: &std::path::Path, pin: &str) -> common::Tool {
    token.tool(
        conf,
        &[
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            pin,
            "--list-objects",
        ],
    )
}

#[test]
fn pin_lockout_flags_and_lock_persist_across_processes() {
    let token = Token::new();
    let conf = token.proxy_conf("pin_lockout = true");

    let flags = token_flags(&token, &conf);
    assert!(!flags.contains("PIN count low"), "{flags}");
    assert!(!flags.contains("locked"), "{flags}");

    login(&token, &conf, "0000").assert_fails_with("CKR_PIN_INCORRECT");
    let flags = token_flags(&token, &conf);
    assert!(flags.contains("user PIN count low"), "{flags}");
    assert!(!flags.contains("final user PIN try"), "{flags}");

    login(&token, &conf, "0000").assert_fails_with("CKR_PIN_INCORRECT");
    let flags = token_flags(&token, &conf);
    assert!(flags.contains("user PIN count low"), "{flags}");
    assert!(flags.contains("final user PIN try"), "{flags}");

    login(&token, &conf, "0000").assert_fails_with("CKR_PIN_INCORRECT");
    let flags = token_flags(&token, &conf);
    assert!(flags.contains("user PIN locked"), "{flags}");

    // Locked: even the right PIN is refused, without reaching SoftHSM.
    let logins_before = token.stat("C_Login");
    login(&token, &conf, PIN).assert_fails_with("CKR_PIN_LOCKED");
    assert_eq!(token.stat("C_Login"), logins_before + 1);
}

#[test]
fn pin_lockout_counter_resets_on_success() {
    let token = Token::new();
    let conf = token.proxy_conf("pin_lockout = true");

    login(&token, &conf, "0000").assert_fails_with("CKR_PIN_INCORRECT");
    login(&token, &conf, "9999").assert_fails_with("CKR_PIN_INCORRECT");
    assert!(token_flags(&token, &conf).contains("final user PIN try"));

    login(&token, &conf, PIN).assert_ok();
    let flags = token_flags(&token, &conf);
    assert!(!flags.contains("PIN count low"), "{flags}");
    assert!(!flags.contains("final user PIN try"), "{flags}");
}

#[test]
fn only_mechanisms_restricts_list_and_operations() {
    let token = Token::new();
    let conf = token.proxy_conf("only_mechanisms = [\"CKM_RSA_PKCS\"]");

    let listed = token.tool(&conf, &["--token-label", LABEL, "--list-mechanisms"]);
    listed.assert_ok();
    let text = listed.text();
    let mechanisms: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Supported mechanisms:"))
        .skip(1)
        .filter(|l| l.starts_with("  "))
        .collect();
    assert_eq!(mechanisms.len(), 1, "{text}");
    assert!(mechanisms[0].starts_with("  RSA-PKCS,"), "{text}");

    token
        .sign(&conf, "SHA256-RSA-PKCS", "refused.sig")
        .assert_fails_with("CKR_MECHANISM_INVALID");
    token.sign(&conf, "RSA-PKCS", "raw.sig").assert_ok();
    assert_eq!(std::fs::read(token.path("raw.sig")).unwrap().len(), 256);
}

#[test]
fn always_authenticate_is_honoured_by_pkcs11_tool() {
    let token = Token::new();
    let conf = token.proxy_conf("always_authenticate = true");

    let objects = token.tool(
        &conf,
        &[
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            PIN,
            "--list-objects",
            "--type",
            "privkey",
        ],
    );
    objects.assert_ok();
    assert!(
        objects.text().contains("always authenticate"),
        "{}",
        objects.text()
    );

    // pkcs11-tool sees CKA_ALWAYS_AUTHENTICATE and logs in again (context-specific) itself.
    token.sign(&conf, "SHA256-RSA-PKCS", "s.sig").assert_ok();
    assert_eq!(std::fs::read(token.path("s.sig")).unwrap().len(), 256);
    assert_eq!(token.stat("C_Login_context_specific"), 1);
    assert_eq!(token.stat("C_Login_user"), 2);
    assert_eq!(token.stat("C_Sign"), 1);
}

#[test]
fn latency_slows_every_forwarded_call() {
    let token = Token::new();
    let conf = token.proxy_conf("latency_ms = 150");
    let start = Instant::now();
    token.tool(&conf, &["--list-slots"]).assert_ok();
    let elapsed = start.elapsed();
    // At least C_Initialize, C_GetSlotList (twice), C_GetSlotInfo, C_GetTokenInfo.
    assert!(
        elapsed >= Duration::from_millis(5 * 150),
        "took only {elapsed:?}"
    );
    let forwarded = token.stats().values().sum::<u64>() - token.stat("C_Finalize");
    assert!(
        elapsed >= Duration::from_millis(150 * forwarded),
        "{forwarded} forwarded calls took only {elapsed:?}"
    );
}

#[test]
fn configuration_beside_a_copy_of_the_module() {
    let token = Token::new();
    let copy = token.path("libproxy-copy.so");
    std::fs::copy(proxy_so(), &copy).unwrap();
    std::fs::write(
        token.path("libproxy-copy.so.toml"),
        format!("module = \"{SOFTHSM}\"\nstats_file = \"copy-stats.json\"\n"),
    )
    .unwrap();
    let out = Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &token.softhsm_conf)
        .env_remove("PARAPHE_P11_PROXY_CONF")
        .arg("--module")
        .arg(&copy)
        .arg("--show-info")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Paraphe test proxy"), "{text}");
    // Relative paths in the configuration are relative to its directory.
    assert!(token.path("copy-stats.json").is_file());
}

#[test]
fn invalid_configuration_fails_initialisation() {
    let token = Token::new();
    let typo = token.path("typo.toml");
    std::fs::write(
        &typo,
        format!("module = \"{SOFTHSM}\"\npin_lockuot = true\n"),
    )
    .unwrap();
    token
        .tool(&typo, &["--list-slots"])
        .assert_fails_with("CKR_GENERAL_ERROR")
        .assert_fails_with("paraphe-p11-proxy: invalid configuration");

    let no_module = token.path("no-module.toml");
    std::fs::write(&no_module, "module = \"/nonexistent/libnothing.so\"\n").unwrap();
    token
        .tool(&no_module, &["--list-slots"])
        .assert_fails_with("CKR_GENERAL_ERROR")
        .assert_fails_with("cannot load module");

    token
        .tool(&token.path("absent.toml"), &["--list-slots"])
        .assert_fails_with("cannot read configuration");
}
