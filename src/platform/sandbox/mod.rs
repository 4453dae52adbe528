//! The sandbox platform (`paraphe bac-a-sable`): a real HTTPS server with client certificates that
//! speaks the S²LOW API as a client sees it (paths, fields, `OK`/`KO` texts in ISO-8859-1, the
//! duplicate rules) and plays the préfecture (ARActe after a delay) and the DGFiP (PES_Acquit per
//! bordereau, refusing missing or invalid signatures). Its state is its own SQLite file. Faults can
//! be injected by configuration (500s, cuts mid-upload, answers lost after the work was done, slow
//! answers, KO answers) to test the sender.

mod actes;
mod confirmation;
pub mod fichiers;
mod helios;
pub mod pki;
pub mod replies;
pub mod retours;
mod stela;
pub mod store;

use super::tls::{provider, read_pem_certificates};
use crate::messages::tf;
use actes::{
    acknowledge_if_due, acte_status, cancel_acte, create_acte, download_envelope, get_document,
    list_documents, mark_document_read, reply_to_document,
};
use bytes::Bytes;
use futures_util::StreamExt;
use helios::{import_answer, import_pes, pes_acquit, pes_status};
use http_body_util::{BodyStream, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use rand::Rng;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::Store;

/// `<données>/bac-a-sable.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// The collectivité the accounts stand for (used to build IDActe).
    pub siren: String,
    pub departement: String,
    /// Seconds between receiving an act and its accusé de réception.
    pub delai_ar_secondes: f64,
    /// Seconds between receiving a PES and its PES_Acquit.
    pub delai_acquit_secondes: f64,
    /// Largest upload accepted.
    pub taille_max_octets: u64,
    /// Date of the classification the préfecture accepts.
    pub date_classification: String,
    /// What the préfecture sends after each AR: "" (nothing), "courrier_simple",
    /// "demande_pieces" or "lettre_observations" (training and tests of the préfecture's letters).
    pub courrier_apres_ar: String,
    /// A login every request must carry (HTTP authentication), and its password: accounts whose
    /// transmissions are confirmed with a nonce login. Empty: certificate only.
    pub identifiant: String,
    pub mot_de_passe: String,
    /// The comptable sends a PES_Retour after each PES accepted.
    pub retour_apres_acquit: bool,
    /// The ACTES schema (`actesv1_1.xsd`) the préfecture checks what it receives against,
    /// answering an anomaly to an act that does not conform. Empty: the schema shipped with
    /// Paraphe.
    pub schema_actes: String,
    /// STELA's face: common names (CN) of the client certificates STELA pairs with a
    /// collectivité; any other certificate gets STELA's 401. Empty: every certificate the TLS
    /// layer accepts is paired.
    pub stela_certificats_enregistres: Vec<String>,
    /// STELA's face: acts a neighbouring collectivité deposits with each act received (the
    /// first under the same number, decision date and nature), and its draft of that number —
    /// STELA's list mixes every collectivité's acts and the drafts. 0: none.
    pub stela_voisins_par_acte: u32,
    /// STELA's face: numbers of the drafts the collectivité keeps in STELA (listed, and a
    /// 409 for an act under one of them).
    pub stela_brouillons: Vec<String>,
    pub pannes: Faults,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings {
            siren: "210000000".into(),
            departement: "034".into(),
            delai_ar_secondes: 2.0,
            delai_acquit_secondes: 2.0,
            taille_max_octets: 150 * 1024 * 1024,
            date_classification: "2024-01-01".into(),
            courrier_apres_ar: String::new(),
            identifiant: String::new(),
            mot_de_passe: String::new(),
            retour_apres_acquit: true,
            schema_actes: String::new(),
            stela_certificats_enregistres: Vec::new(),
            stela_voisins_par_acte: 0,
            stela_brouillons: Vec::new(),
            pannes: Faults::default(),
        }
    }
}

/// Probabilities (0 to 1) of each fault, drawn per request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// An HTML error page with status 500, the request not processed.
    pub erreur_500: f64,
    /// The connection cut while the request is received (not processed).
    pub coupure: f64,
    /// The request processed, then the connection cut before the answer (outcome unknown to the
    /// client: the case the sender must reconcile).
    pub perte_reponse: f64,
    /// Milliseconds added before every answer.
    pub lenteur_ms: u64,
    /// A KO answer to a creation.
    pub ko: f64,
}

const DEFAULT_SETTINGS: &str = "# Bac à sable Paraphe : réglages (relu à chaque démarrage).
siren = \"210000000\"
departement = \"034\"
delai_ar_secondes = 2.0
delai_acquit_secondes = 2.0
taille_max_octets = 157286400
date_classification = \"2024-01-01\"
# Après chaque accusé de réception, la préfecture peut envoyer : \"courrier_simple\", \"demande_pieces\" ou \"lettre_observations\".
courrier_apres_ar = \"\"
# Compte avec identifiant (authentification HTTP et confirmation de chaque télétransmission).
identifiant = \"\"
mot_de_passe = \"\"
# Le comptable renvoie un PES_Retour après chaque PES accepté.
retour_apres_acquit = true
# Schéma ACTES (actesv1_1.xsd) : la préfecture répond une anomalie à un acte non conforme.
# Vide : le schéma livré avec Paraphe.
schema_actes = \"\"
# STELA : noms communs (CN) des certificats rattachés à une collectivité ; les autres reçoivent
# un 401. Vide : tous les certificats acceptés sont rattachés.
stela_certificats_enregistres = []
# STELA : actes qu'une commune voisine dépose avec chaque acte reçu (le premier du même numéro,
# même date et même nature) et son brouillon de ce numéro : la liste de STELA mêle tout.
stela_voisins_par_acte = 0
# STELA : numéros des brouillons que la collectivité garde dans STELA (un acte de ce numéro : 409).
stela_brouillons = []

# Pannes simulées, probabilités de 0 à 1 par requête (tests et formation).
[pannes]
erreur_500 = 0.0
coupure = 0.0
perte_reponse = 0.0
lenteur_ms = 0
ko = 0.0
";

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{}", tf("bac_a_sable.donnees", &[("chemin", &.0.display().to_string()), ("detail", .1)]))]
    Data(PathBuf, String),
    #[error("{}", tf("bac_a_sable.tls", &[("detail", .0)]))]
    Tls(String),
    #[error("{}", tf("bac_a_sable.ecoute", &[("adresse", &.0.to_string()), ("detail", .1)]))]
    Listen(SocketAddr, String),
}

pub struct SandboxOptions {
    pub ecoute: SocketAddr,
    pub donnees: PathBuf,
    pub ca_clients: Vec<PathBuf>,
}

/// What a client needs to reach the sandbox.
pub struct Ready {
    pub adresse: SocketAddr,
    /// The authority of the server's certificate (the client's `[plateforme] ca`).
    pub ca: PathBuf,
    /// A client identity the sandbox accepts (demo mode).
    pub demo_p12: PathBuf,
    /// A signature identity whose PES signatures the sandbox accepts (demo mode).
    pub demo_signature_p12: PathBuf,
}

pub(crate) struct Ctx {
    pub(crate) settings: SandboxSettings,
    pub(crate) store: Mutex<Store>,
    depots: PathBuf,
    trust: Option<crate::certs::trust::TrustStore>,
    /// When the sandbox started (the creation date of the drafts STELA's face lists).
    pub(crate) started_ms: i64,
    /// Nonces handed out and not used yet (confirmation of transmissions).
    nonces: Mutex<std::collections::HashSet<String>>,
}

/// Load (or write the default) settings of a sandbox data folder.
pub fn load_settings(dir: &Path) -> Result<SandboxSettings, SandboxError> {
    let path = dir.join("bac-a-sable.toml");
    if !path.exists() {
        std::fs::write(&path, DEFAULT_SETTINGS)
            .map_err(|e| SandboxError::Data(path.clone(), e.to_string()))?;
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| SandboxError::Data(path.clone(), e.to_string()))?;
    toml::from_str(&text).map_err(|e| SandboxError::Data(path, e.to_string()))
}

/// Serve until the process ends. `on_ready` is called once the port is open.
pub fn run(options: SandboxOptions, on_ready: impl FnOnce(&Ready)) -> Result<(), SandboxError> {
    let data = |e: std::io::Error| SandboxError::Data(options.donnees.clone(), e.to_string());
    crate::logging::create_private_dir(&options.donnees).map_err(data)?;
    let settings = load_settings(&options.donnees)?;
    let pki = pki::SandboxPki::ensure(&options.donnees.join("pki"))
        .map_err(|e| SandboxError::Data(options.donnees.join("pki"), e))?;
    let depots = options.donnees.join("depots");
    crate::logging::create_private_dir(&depots).map_err(data)?;
    let store = Store::open(&options.donnees.join("bac-a-sable.sqlite"))
        .map_err(|e| SandboxError::Data(options.donnees.clone(), e.to_string()))?;

    // Client certificates accepted: the sandbox's own authority and those given.
    let mut roots = RootCertStore::empty();
    let mut trusted_pem = Vec::new();
    for path in std::iter::once(&pki.ca_pem).chain(&options.ca_clients) {
        let certs = read_pem_certificates(path).map_err(|e| SandboxError::Tls(e.to_string()))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| SandboxError::Tls(e.to_string()))?;
        }
        trusted_pem.extend(std::fs::read(path).map_err(data)?);
        trusted_pem.push(b'\n');
    }
    let trust_path = options.donnees.join("confiance-signatures.pem");
    std::fs::write(&trust_path, &trusted_pem).map_err(data)?;
    let trust = crate::certs::trust::TrustStore::load(&trust_path).ok();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| SandboxError::Tls(e.to_string()))?;
    let verifier = Arc::new(pki::AuthenticationOnly(verifier));
    let server_certs =
        read_pem_certificates(&pki.server_pem).map_err(|e| SandboxError::Tls(e.to_string()))?;
    let server_key = PrivateKeyDer::from_pem_file(&pki.server_key)
        .map_err(|e| SandboxError::Tls(e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(server_certs, server_key)
        .map_err(|e| SandboxError::Tls(e.to_string()))?;

    let ctx = Arc::new(Ctx {
        settings,
        store: Mutex::new(store),
        depots,
        trust,
        nonces: Mutex::new(Default::default()),
        started_ms: now_ms(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(data)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.ecoute)
            .await
            .map_err(|e| SandboxError::Listen(options.ecoute, e.to_string()))?;
        let adresse = listener
            .local_addr()
            .map_err(|e| SandboxError::Listen(options.ecoute, e.to_string()))?;
        on_ready(&Ready {
            adresse,
            ca: pki.ca_pem.clone(),
            demo_p12: pki.demo_p12.clone(),
            demo_signature_p12: pki.demo_signature_p12.clone(),
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Some(peer) = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec())
                else {
                    return;
                };
                let peer = Arc::new(peer);
                let service =
                    hyper::service::service_fn(move |req| handle(ctx.clone(), peer.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    })
}

/// A simulated cut: returning it makes hyper drop the connection without an answer.
#[derive(Debug)]
struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("coupure simulée")
    }
}

impl std::error::Error for Cut {}

type Answer = Result<Response<Full<Bytes>>, Cut>;

pub(crate) fn text(body: &str) -> Response<Full<Bytes>> {
    // S²LOW answers in ISO-8859-1.
    let bytes = crate::latin1::encode_lossy(body);
    Response::builder()
        .header("content-type", "text/plain; charset=ISO-8859-1")
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_default()
}

fn xml(body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .header("content-type", "text/xml; charset=ISO-8859-1")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

pub(crate) fn html_error(status: StatusCode) -> Response<Full<Bytes>> {
    let body = format!(
        "<html><head><title>{0}</title></head><body><h1>{0}</h1></body></html>",
        status
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

pub(crate) fn draw(probability: f64) -> bool {
    probability > 0.0 && rand::rng().random_bool(probability.min(1.0))
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn handle(ctx: Arc<Ctx>, peer: Arc<Vec<u8>>, req: Request<Incoming>) -> Answer {
    let faults = ctx.settings.pannes.clone();
    if faults.lenteur_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.lenteur_ms)).await;
    }
    if draw(faults.erreur_500) {
        // As a PHP platform does: the whole request is read, then the error page comes.
        let mut body = BodyStream::new(req.into_body());
        while let Some(Ok(_)) = body.next().await {}
        return Ok(html_error(StatusCode::INTERNAL_SERVER_ERROR));
    }
    if draw(faults.coupure) {
        // Read a little of what is being sent, then cut.
        let mut body = BodyStream::new(req.into_body());
        let _ = body.next().await;
        return Err(Cut);
    }
    let fingerprint = hex::encode(openssl::sha::sha256(&peer));
    let subject = openssl::x509::X509::from_der(&peer)
        .ok()
        .and_then(|c| {
            c.subject_name()
                .entries_by_nid(openssl::nid::Nid::COMMONNAME)
                .next()
                .and_then(|e| e.data().to_string().ok())
        })
        .unwrap_or_default();
    if req.uri().path().starts_with("/editeur/") && !stela::paired(&ctx, &subject) {
        // Spring's DispatcherServlet reads the multipart request (checkMultipart) before
        // CertificateInterceptor refuses it: the whole upload is read, then the 401 comes.
        let path = req.uri().path().to_owned();
        let mut body = BodyStream::new(req.into_body());
        while let Some(Ok(_)) = body.next().await {}
        return Ok(stela::unauthorized(&path));
    }
    let account = {
        let mut store = ctx.store.lock().map_err(|_| Cut)?;
        match store.account(&fingerprint, &subject) {
            Ok(id) => id,
            Err(_) => return Ok(html_error(StatusCode::INTERNAL_SERVER_ERROR)),
        }
    };
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if !confirmation::login_ok(&ctx, authorization) {
        return Ok(text("KO\nÉchec de l'authentification\n"));
    }
    let path = req.uri().path().to_owned();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let answer = match (req.method().as_str(), path.as_str()) {
        ("GET", "/api/test-connexion.php") => text("OK\nBac à sable Paraphe\n"),
        ("GET", "/admin/users/api-list-login.php") => text("OK\n"),
        ("GET", "/api/get-nounce.php") => confirmation::nonce(&ctx),
        ("GET", "/modules/actes/actes_classification_request.php") => {
            text("OK\nDemande de classification transmise\n")
        }
        ("GET", "/modules/actes/actes_transac_post_confirm_api.php") => {
            blocking(&ctx, move |ctx| confirmation::confirm(ctx, account, &query)).await
        }
        ("GET", "/modules/actes/actes_create_pdf.php") => {
            blocking(&ctx, move |ctx| fichiers::bordereau(ctx, account, &query)).await
        }
        ("GET", "/modules/actes/actes_transac_get_files_list.php") => {
            blocking(&ctx, move |ctx| fichiers::list(ctx, account, &query)).await
        }
        ("GET", "/modules/actes/actes_download_file.php") => match query.get("env").cloned() {
            Some(env) => blocking(&ctx, move |ctx| download_envelope(ctx, account, &env)).await,
            None => blocking(&ctx, move |ctx| fichiers::download(ctx, account, &query)).await,
        },
        ("GET", "/modules/helios/api/helios_get_list.php") => {
            blocking(&ctx, move |ctx| retours::list(ctx, account)).await
        }
        ("GET", "/modules/helios/api/helios_get_retour.php") => {
            blocking(&ctx, move |ctx| retours::get(ctx, account, &query)).await
        }
        ("GET", "/modules/helios/api/helios_change_status.php") => {
            blocking(&ctx, move |ctx| retours::mark_read(ctx, account, &query)).await
        }
        ("POST", "/modules/actes/actes_transac_create.php") => {
            match receive_form(&ctx, req).await {
                Ok(form) => {
                    let ctx = ctx.clone();
                    tokio::task::spawn_blocking(move || create_acte(&ctx, account, form))
                        .await
                        .unwrap_or_else(|_| text("KO\nErreur interne\n"))
                }
                Err(FormError::TooLarge) => text(&format!(
                    "KO\nLa taille totale des fichiers est trop importante (max : {})\n",
                    ctx.settings.taille_max_octets
                )),
                Err(FormError::Cut) => return Err(Cut),
            }
        }
        ("POST", "/modules/actes/actes_transac_cancel.php") => {
            match receive_form(&ctx, req).await {
                Ok(form) => {
                    let ctx = ctx.clone();
                    tokio::task::spawn_blocking(move || cancel_acte(&ctx, account, &form))
                        .await
                        .unwrap_or_else(|_| text("KO\nErreur interne\n"))
                }
                Err(_) => return Err(Cut),
            }
        }
        ("GET", "/modules/actes/api/list_document_prefecture.php") => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || list_documents(&ctx, account))
                .await
                .unwrap_or_else(|_| text("KO\nErreur interne\n"))
        }
        ("GET", "/modules/actes/actes_transac_get_document.php") => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || get_document(&ctx, account, &query))
                .await
                .unwrap_or_else(|_| text("KO\nErreur interne\n"))
        }
        ("GET", "/modules/actes/api/document_prefecture_mark_as_read.php") => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || mark_document_read(&ctx, account, &query))
                .await
                .unwrap_or_else(|_| text("KO\nErreur interne\n"))
        }
        ("POST", "/modules/actes/actes_transac_reponse_create.php") => {
            match receive_form(&ctx, req).await {
                Ok(form) => {
                    let ctx = ctx.clone();
                    tokio::task::spawn_blocking(move || reply_to_document(&ctx, account, &form))
                        .await
                        .unwrap_or_else(|_| text("KO\nErreur interne\n"))
                }
                Err(FormError::TooLarge) => {
                    text("KO\nLa taille totale des fichiers est trop importante\n")
                }
                Err(FormError::Cut) => return Err(Cut),
            }
        }
        ("GET", "/modules/actes/actes_classification_fetch.php") => xml(
            replies::classification_xml(&ctx.settings.date_classification),
        ),
        ("GET", "/modules/actes/actes_transac_get_status.php") => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || acte_status(&ctx, account, &query))
                .await
                .unwrap_or_else(|_| text("KO\nErreur interne\n"))
        }
        ("POST", "/modules/helios/api/helios_importer_fichier.php") => {
            match receive_form(&ctx, req).await {
                Ok(form) => {
                    let ctx = ctx.clone();
                    tokio::task::spawn_blocking(move || import_pes(&ctx, account, form))
                        .await
                        .unwrap_or_else(|_| text("KO\nErreur interne\n"))
                }
                Err(FormError::TooLarge) => xml(import_answer(
                    "",
                    "KO",
                    &format!(
                        "Taille de fichier supérieure à la limite autorisée ({}Mo maximum).",
                        ctx.settings.taille_max_octets / (1024 * 1024)
                    ),
                )),
                Err(FormError::Cut) => return Err(Cut),
            }
        }
        ("GET", "/modules/helios/api/helios_transac_get_status.php") => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || pes_status(&ctx, account, &query))
                .await
                .unwrap_or_else(|_| text("KO\nErreur interne\n"))
        }
        ("GET", "/modules/helios/helios_download_acquit.php") => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || pes_acquit(&ctx, account, &query))
                .await
                .unwrap_or_else(|_| text("KO\nErreur interne\n"))
        }
        ("POST", "/editeur/api/acte") => match receive_form(&ctx, req).await {
            Ok(form) => {
                let ctx = ctx.clone();
                tokio::task::spawn_blocking(move || stela::create(&ctx, account, form))
                    .await
                    .unwrap_or_else(|_| html_error(StatusCode::INTERNAL_SERVER_ERROR))
            }
            Err(FormError::TooLarge) => html_error(StatusCode::PAYLOAD_TOO_LARGE),
            Err(FormError::Cut) => return Err(Cut),
        },
        ("GET", "/editeur/api/acte") => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || stela::list(&ctx, &query))
                .await
                .unwrap_or_else(|_| html_error(StatusCode::INTERNAL_SERVER_ERROR))
        }
        ("POST", p) if stela::reply_action(p).is_some() => match receive_form(&ctx, req).await {
            Ok(form) => {
                let ctx = ctx.clone();
                tokio::task::spawn_blocking(move || stela::reply(&ctx, account, &path, form))
                    .await
                    .unwrap_or_else(|_| html_error(StatusCode::INTERNAL_SERVER_ERROR))
            }
            Err(FormError::TooLarge) => html_error(StatusCode::PAYLOAD_TOO_LARGE),
            Err(FormError::Cut) => return Err(Cut),
        },
        (method, p) if p.starts_with("/editeur/api/acte/") => {
            let rest = p.trim_start_matches("/editeur/api/acte/").to_owned();
            let method = method.to_owned();
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || stela::one(&ctx, account, &method, &rest))
                .await
                .unwrap_or_else(|_| html_error(StatusCode::INTERNAL_SERVER_ERROR))
        }
        _ => html_error(StatusCode::NOT_FOUND),
    };
    if draw(faults.perte_reponse) {
        return Err(Cut);
    }
    Ok(answer)
}

/// Run a handler that touches the store or the disk off the server's event loop.
async fn blocking(
    ctx: &Arc<Ctx>,
    handler: impl FnOnce(&Ctx) -> Response<Full<Bytes>> + Send + 'static,
) -> Response<Full<Bytes>> {
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || handler(&ctx))
        .await
        .unwrap_or_else(|_| text("KO\nErreur interne\n"))
}

/// A multipart form received: text fields (repeatable) and files saved in the deposit folder.
#[derive(Default)]
pub(crate) struct Form {
    fields: HashMap<String, Vec<Vec<u8>>>,
    /// (field, original name, saved path)
    files: Vec<(String, String, PathBuf)>,
}

impl Form {
    pub(crate) fn text(&self, name: &str) -> String {
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map(|b| crate::latin1::decode(b).trim().to_owned())
            .unwrap_or_default()
    }

    pub(crate) fn texts(&self, name: &str) -> Vec<String> {
        self.fields
            .get(name)
            .map(|v| {
                v.iter()
                    .map(|b| crate::latin1::decode(b).trim().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn files(&self, field: &str) -> impl Iterator<Item = &(String, String, PathBuf)> {
        self.files.iter().filter(move |f| f.0 == field)
    }
}

enum FormError {
    TooLarge,
    Cut,
}

async fn receive_form(ctx: &Ctx, req: Request<Incoming>) -> Result<Form, FormError> {
    let boundary = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or(FormError::Cut)?;
    let stream = BodyStream::new(req.into_body()).filter_map(|frame| async move {
        match frame {
            Ok(f) => f.into_data().ok().map(Ok::<Bytes, hyper::Error>),
            Err(e) => Some(Err(e)),
        }
    });
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(ctx.settings.taille_max_octets));
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(multer::Error::StreamSizeExceeded { .. }) => return Err(FormError::TooLarge),
            Err(_) => return Err(FormError::Cut),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let saved = ctx.depots.join(format!(
                    "recu-{}-{:016x}",
                    now_ms(),
                    rand::rng().random::<u64>()
                ));
                let mut out = std::fs::File::create(&saved).map_err(|_| FormError::Cut)?;
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            use std::io::Write;
                            out.write_all(&chunk).map_err(|_| FormError::Cut)?;
                        }
                        Ok(None) => break,
                        Err(multer::Error::StreamSizeExceeded { .. }) => {
                            return Err(FormError::TooLarge);
                        }
                        Err(_) => return Err(FormError::Cut),
                    }
                }
                form.files.push((name, file_name, saved));
            }
            None => {
                let value = field.bytes().await.map_err(|_| FormError::Cut)?;
                form.fields.entry(name).or_default().push(value.to_vec());
            }
        }
    }
    Ok(form)
}

/// The type S²LOW's `mime_content_type` would see, judged by content.
pub(crate) fn sniff(path: &Path) -> &'static str {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let head = &head[..n];
    if head.starts_with(b"%PDF-") {
        "application/pdf"
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if head.starts_with(b"<?xml") {
        "application/xml"
    } else {
        "application/octet-stream"
    }
}

pub(crate) fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        now.month() as u8,
        now.day()
    )
}

pub(crate) fn json(value: &serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap_or_default()
}
