//! Hand a lot to another workstation and take one in: the secrétaire exports the items she
//! prepared, signed with her card (signature or authentication key) or her `.p12`; the
//! ordonnateur's workstation checks that signature against its trusted authorities before
//! anything enters its outbox. Both faces call these, so the window and the command line judge a
//! lot alike.

use super::KeyToOpen;
use crate::certs::trust::TrustStore;
use crate::outbox::lot::{self, ExportRequest, ExportedLot, ImportPolicy, ImportedLot, LotOrigin};
use crate::outbox::{Outbox, OutboxError};
use crate::settings::Settings;
use std::path::{Path, PathBuf};

/// Export `ids` to `dest`, the manifest signed with `key` (None: an unsigned lot, which the
/// importing workstation will refuse unless told otherwise). One PIN, asked once.
pub fn export_lot(
    outbox: &mut Outbox,
    nom: &str,
    ids: &[i64],
    dest: &Path,
    who: &str,
    key: Option<KeyToOpen>,
) -> Result<ExportedLot, String> {
    let request = ExportRequest {
        nom,
        items: ids,
        dest,
        prepare_par: who,
    };
    match key {
        Some(key) => {
            // The items are checked before the card is asked anything: a changed file stops
            // the export without spending a PIN try.
            lot::check_exportable(outbox, ids).map_err(|e| e.to_string())?;
            let mut signer = key.open()?;
            lot::export(outbox, &request, Some(&mut *signer)).map_err(|e| e.to_string())
        }
        None => lot::export(outbox, &request, None).map_err(|e| e.to_string()),
    }
}

/// Where lots are unpacked while they are checked (beside the outbox, so on the same disk).
pub fn work_dir() -> Result<PathBuf, String> {
    crate::settings::data_dir()
        .map(|d| d.join("lots"))
        .map_err(|e| e.to_string())
}

/// The trusted authorities for a lot's signer: `explicit` (`--confiance`), else the settings'.
pub fn trust_store(
    explicit: Option<&Path>,
    settings: &Settings,
) -> Result<Option<TrustStore>, String> {
    TrustStore::chosen(explicit, settings).map_err(|e| e.to_string())
}

/// Check `lot` whole and say who prepared and signed it, importing nothing. The error is kept
/// whole: an unsigned lot ([`OutboxError::UnsignedLot`]) may still be accepted on request.
pub fn inspect_lot(
    lot_file: &Path,
    trust: Option<&TrustStore>,
    accept_unsigned: bool,
) -> Result<LotOrigin, OutboxError> {
    let policy = ImportPolicy {
        trust,
        accept_unsigned,
    };
    let dir = work_dir().map_err(OutboxError::Lot)?;
    lot::inspect(lot_file, &dir, &policy)
}

/// Check `lot` whole, then import its items as `préparé`, each journalled with the lot's origin.
pub fn import_lot(
    outbox: &mut Outbox,
    lot_file: &Path,
    trust: Option<&TrustStore>,
    accept_unsigned: bool,
    who: &str,
) -> Result<ImportedLot, OutboxError> {
    let policy = ImportPolicy {
        trust,
        accept_unsigned,
    };
    let dir = work_dir().map_err(OutboxError::Lot)?;
    lot::import(outbox, lot_file, &dir, who, &policy)
}
