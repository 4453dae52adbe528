//! The comptable's PES_Retour in the sandbox: one is made for every PES accepted, listed by
//! `helios_get_list.php`, given by `helios_get_retour.php` and marked read by
//! `helios_change_status.php`, with S²LOW's answers (reference notes, Hélios API).

use super::replies::escape;
use super::{Ctx, now_ms, today, xml};
use crate::pes::summary::{Domaine, PesSummary};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use std::collections::HashMap;

/// A PES_Retour telling that every piece of the accepted PES was taken in charge (EtatPce 01).
pub fn pes_retour(summary: &PesSummary, date: &str, nom: &str) -> Vec<u8> {
    let v = |name: &str, value: &Option<String>| {
        value
            .as_ref()
            .map(|val| format!("<{name} V=\"{}\"/>", escape(val)))
            .unwrap_or_default()
    };
    let domaine = match summary.bordereaux.first().map(|b| b.domaine) {
        Some(Domaine::Recette) => "Recette",
        _ => "Depense",
    };
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n");
    x.push_str(
        "<n:PES_Retour xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour\">\n",
    );
    x.push_str(&format!(
        "<Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESRETOUR_{}\"/><NomFic V=\"{}\"/></Parametres></Enveloppe>\n",
        if domaine == "Recette" { "REC" } else { "DEP" },
        escape(nom)
    ));
    x.push_str(&format!("<EnTetePES><DteStr V=\"{}\"/>", escape(date)));
    x.push_str(&v("IdPost", &summary.entete.id_post));
    x.push_str(&v("IdColl", &summary.entete.id_coll));
    x.push_str(&v("CodColl", &summary.entete.cod_col));
    x.push_str(&v("CodBud", &summary.entete.cod_bud));
    x.push_str("</EnTetePES>\n");
    x.push_str(&format!(
        "<PES_{domaine}Retour><EnTete{domaine}><TypRestit V=\"AA\"/><IdVer V=\"2\"/></EnTete{domaine}>\n"
    ));
    for b in &summary.bordereaux {
        x.push_str("<Bordereau><BlocBordereau>");
        x.push_str(&v("Exer", &b.exercice));
        x.push_str(&v("IdBord", &b.numero));
        x.push_str(&v("TypBord", &b.type_bordereau));
        x.push_str("</BlocBordereau>\n");
        for p in &b.pieces {
            x.push_str("<Piece><InfoPiece>");
            x.push_str(&v("IdPce", &p.id_pce));
            x.push_str(&v("TypPce", &p.typ_pce));
            x.push_str(&v("Obj", &p.objet));
            x.push_str(&format!(
                "<DtePcePec V=\"{}\"/><EtatPce V=\"01\"/></InfoPiece></Piece>\n",
                escape(date)
            ));
        }
        x.push_str("</Bordereau>\n");
    }
    x.push_str(&format!("</PES_{domaine}Retour>\n</n:PES_Retour>\n"));
    crate::latin1::encode_lossy(&x)
}

/// After an accepted PES, the comptable's return (unless turned off in the settings).
pub(crate) fn make_for_accepted_pes(ctx: &Ctx, account: i64, pes_id: i64, summary: &PesSummary) {
    if !ctx.settings.retour_apres_acquit {
        return;
    }
    let nom = format!("PES_Retour_{pes_id}_{}.xml", now_ms());
    let body = pes_retour(summary, &today(), &nom);
    if let Ok(mut store) = ctx.store.lock() {
        // A retour that cannot be stored is simply not offered: the acquit stands.
        let _ = store.add_retour(account, &nom, &today(), &body);
    }
}

pub(crate) fn list(ctx: &Ctx, account: i64) -> Response<Full<Bytes>> {
    let unread = ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.unread_retours(account).ok());
    let Some(unread) = unread else {
        return xml(crate::latin1::encode_lossy(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<liste><idColl/><resultat>KO</resultat><message>Erreur interne</message><dateDemande/></liste>\n",
        ));
    };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<liste><idColl>{account}</idColl><resultat></resultat><message>liste réussi</message><dateDemande>{}</dateDemande>\n",
        today()
    );
    for (id, nom, date) in unread {
        x.push_str(&format!(
            "<pes_retour><id>{id}</id><nom>{}</nom><date>{}</date></pes_retour>\n",
            escape(&nom),
            escape(&date)
        ));
    }
    x.push_str("</liste>\n");
    xml(crate::latin1::encode_lossy(&x))
}

pub(crate) fn get(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query.get("id").and_then(|s| s.parse::<i64>().ok());
    let found = id.and_then(|id| {
        ctx.store
            .lock()
            .ok()
            .and_then(|s| s.retour(account, id).ok().flatten())
    });
    match found {
        Some(body) => xml(body),
        None => xml(crate::latin1::encode_lossy(&format!(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<get_retour><id>{}</id><resultat>KO</resultat><message>retour id n'est pas correcte</message></get_retour>\n",
            escape(query.get("id").map(String::as_str).unwrap_or(""))
        ))),
    }
}

pub(crate) fn mark_read(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query.get("id").and_then(|s| s.parse::<i64>().ok());
    let done = id.is_some_and(|id| {
        ctx.store
            .lock()
            .ok()
            .and_then(|mut s| s.mark_retour_read(account, id).ok())
            .unwrap_or(false)
    });
    let (resultat, message) = if done {
        ("OK", "reussi de changer status")
    } else {
        ("KO", "Changement de status est echoué.")
    };
    xml(crate::latin1::encode_lossy(&format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<transaction><idRetour>{}</idRetour><resultat>{resultat}</resultat><message>{message}</message></transaction>\n",
        escape(query.get("id").map(String::as_str).unwrap_or(""))
    )))
}
