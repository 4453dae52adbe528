//! Small helpers: tool detection, proxy module lookup, module paths.

use pkcs11_mocks::{
    MockError, opencryptoki_module, proxy_module, softhsm_module, tool_required, unique_label,
};

fn in_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
}

#[test]
fn tool_required_finds_tools_and_reports_missing_ones() {
    assert!(tool_required("sh"));
    let missing = std::panic::catch_unwind(|| tool_required("paraphe-no-such-tool-xyz"));
    if in_ci() {
        let err = missing.expect_err("a missing tool must fail CI");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("paraphe-no-such-tool-xyz"), "{msg}");
    } else {
        assert!(!missing.expect("no panic outside CI"));
    }
}

#[test]
fn proxy_module_found_or_clear_panic() {
    match std::panic::catch_unwind(proxy_module) {
        Ok(p) => {
            assert!(p.is_file(), "{}", p.display());
            assert!(p.ends_with("libparaphe_p11_proxy.so"));
        }
        Err(e) => {
            let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(
                msg.contains("run `cargo build -p paraphe-p11-proxy` first"),
                "{msg}"
            );
        }
    }
}

#[test]
fn module_paths() {
    if tool_required("softhsm2-util") {
        assert!(softhsm_module().is_file(), "{}", softhsm_module().display());
    }
    if tool_required("pkcsslotd") {
        assert!(
            opencryptoki_module().is_file(),
            "{}",
            opencryptoki_module().display()
        );
    }
}

#[test]
fn labels_are_distinct_and_short() {
    let labels: Vec<String> = (0..50)
        .map(|_| unique_label("paraphe-test-token"))
        .collect();
    let set: std::collections::HashSet<_> = labels.iter().collect();
    assert_eq!(set.len(), labels.len());
    assert!(
        labels
            .iter()
            .all(|l| l.len() <= 32 && l.starts_with("paraphe-"))
    );
}

#[test]
fn command_errors_carry_status_and_stderr() {
    if !tool_required("softhsm2-util") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let hsm = pkcs11_mocks::SoftHsm::new(tmp.path()).unwrap();
    hsm.create_token("dup", "1234").unwrap();
    // Importing into a token that does not exist fails in pkcs11-tool.
    let pki = pkcs11_mocks::TestPki::shared();
    let err = hsm
        .import("no-such-token", "1234", pki.identity("signature"))
        .unwrap_err();
    match &err {
        MockError::Command {
            command,
            status,
            stderr,
            ..
        } => {
            assert!(command.contains("pkcs11-tool"), "{command}");
            assert!(status.is_some_and(|s| s != 0));
            assert!(!stderr.is_empty());
        }
        other => panic!("unexpected error {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains("exit status") && shown.contains("stderr"),
        "{shown}"
    );
}
