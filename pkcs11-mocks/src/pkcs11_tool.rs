//! Token provisioning through `pkcs11-tool` (OpenSC).

use std::process::Command;

use crate::util::run;
use crate::{Identity, MockError};

/// Writes private key, public key and certificate of `id` with
/// `pkcs11-tool --write-object`. `base` returns a `pkcs11-tool` command with
/// the module and token selection already set.
pub(crate) fn import(
    base: impl Fn() -> Command,
    pin: &str,
    id: &Identity,
) -> Result<(), MockError> {
    let id_hex = id.cka_id_hex();
    for (kind, file) in [
        ("privkey", &id.key_der),
        ("pubkey", &id.pubkey_der),
        ("cert", &id.cert_der),
    ] {
        let mut cmd = base();
        cmd.args(["--login", "--pin", pin, "--write-object"])
            .arg(file)
            .args(["--type", kind, "--id", &id_hex, "--label", &id.name]);
        run(&mut cmd, None)?;
    }
    Ok(())
}
