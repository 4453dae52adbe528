//! The sandbox platform (`paraphe bac-a-sable`): a real HTTPS server with client certificates that
//! speaks the S²LOW API as a client sees it (paths, fields, `OK`/`KO` texts in ISO-8859-1, the
//! duplicate rules) and plays the préfecture (ARActe after a delay) and the DGFiP (PES_Acquit per
//! bordereau, refusing missing or invalid signatures). Its state is its own SQLite file. Faults can
//! be injected by configuration (500s, cuts mid-upload, answers lost after the work was done, slow
//! answers, KO answers) to test the sender.

mod confirmation;
pub mod fichiers;
pub mod pki;
pub mod replies;
pub mod retours;
mod stela;
pub mod store;

use super::tls::{provider, read_pem_certificates};
use crate::messages::tf;
use bytes::Bytes;
use futures_util::StreamExt;
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
use store::{Inserted, Store};

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

pub(crate) fn number_is_valid(number: &str) -> bool {
    // ^([A-Z0-9][A-Z0-9_]{0,13})?[A-Z0-9]$
    let b = number.as_bytes();
    let ok = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 15
        && ok(&b[0])
        && ok(&b[b.len() - 1])
        && b.iter().all(|c| ok(c) || *c == b'_')
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

fn create_acte(ctx: &Ctx, account: i64, form: Form) -> Response<Full<Bytes>> {
    let ko = |message: &str| text(&format!("KO\n{message}\n"));
    let numero = form.text("number");
    if !number_is_valid(&numero) {
        return ko("Le numéro n'est pas correct");
    }
    let date = form.text("decision_date");
    let parsed = time::Date::parse(
        &date,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    let Ok(parsed) = parsed else {
        return ko("La date de décision est incorrecte");
    };
    if parsed > time::OffsetDateTime::now_utc().date() {
        return ko("La date de décision est une date dans le futur");
    }
    let nature: u8 = form.text("nature_code").parse().unwrap_or(0);
    if !(1..=6).contains(&nature) {
        return ko("La nature de l'acte est incorrecte");
    }
    let matieres: Vec<String> = (1..=5)
        .map(|i| form.text(&format!("classif{i}")))
        .filter(|s| !s.is_empty())
        .collect();
    let Some((_, acte_name, acte_path)) = form.files("acte_pdf_file").next() else {
        return ko("Aucun fichier acte n'a été posté ");
    };
    if form.text("type_acte").is_empty() {
        return ko(&format!(
            "Erreur lors de la réception du fichier {acte_name} : typologie absente"
        ));
    }
    let mime = sniff(acte_path);
    let xml_acte = mime == "application/xml";
    if mime != "application/pdf" && !xml_acte {
        return ko(&format!(
            "Erreur de validation du fichier de l'acte :\nLe fichier de l'acte \" {acte_name} \" est de type \" {mime} \". Fichier PDF ou XML requis."
        ));
    }
    if xml_acte && nature != 5 {
        return ko(
            "Erreur de validation du fichier de l'acte :\nSeuls les documents budgétaires et financiers peuvent être au format XML.",
        );
    }
    let types_pj = form.texts("type_pj[]");
    let unique_id = replies::id_acte(
        &ctx.settings.departement,
        &ctx.settings.siren,
        &date,
        &numero,
        nature,
    );
    // Files renamed as S²LOW does: <typologie>-<IDActe>-1-1_<n>.<ext>.
    let renamed = |code: &str, n: usize, mime: &str| {
        let ext = match mime {
            "application/pdf" => "pdf",
            "image/jpeg" => "jpg",
            "image/png" => "png",
            _ => "xml",
        };
        format!("{code}-{unique_id}-1-1_{n}.{ext}")
    };
    let mut names = vec![renamed(&form.text("type_acte"), 1, mime)];
    for (i, (_, name, path)) in form.files("acte_attachments[]").enumerate() {
        if types_pj.get(i).is_none_or(|t| t.is_empty()) {
            return ko(&format!(
                "Erreur lors de la réception du fichier annexe {name} : typologie absente"
            ));
        }
        let mime = sniff(path);
        if !matches!(
            mime,
            "application/pdf" | "image/jpeg" | "image/png" | "application/xml"
        ) {
            return ko(&format!(
                "Erreur de validation d'un fichier de pièce jointe :\nLe fichier attaché \" {name} \" est de type \" {mime} \". Fichier PDF, XML, PNG ou JPEG requis."
            ));
        }
        names.push(renamed(&types_pj[i], i + 2, mime));
    }
    if draw(ctx.settings.pannes.ko) {
        return ko(
            "Erreur lors de l'enregistrement de la transaction :\nPanne simulée par le bac à sable",
        );
    }
    let objet = form.text("subject");
    let papier = form.text("document_papier") == "1";
    let Ok(mut store) = ctx.store.lock() else {
        return ko("Erreur interne");
    };
    match store.insert_acte(
        account,
        &numero,
        &unique_id,
        nature,
        &date,
        &objet,
        &matieres,
        &names,
        papier,
        now_ms(),
    ) {
        Ok(Inserted::New(id)) => {
            let waiting = form.text("en_attente") == "1";
            if waiting && store.hold_acte(id).is_err() {
                return ko("Erreur interne");
            }
            drop(store);
            let saved: Vec<&Path> = form
                .files("acte_pdf_file")
                .take(1)
                .chain(form.files("acte_attachments[]"))
                .map(|(_, _, path)| path.as_path())
                .collect();
            // The detached signatures sit beside the file each signs, as `<name>.p7s`.
            let signatures: Vec<&Path> = form
                .files("acte_pdf_file_sign")
                .take(1)
                .map(|(_, _, path)| path.as_path())
                .collect();
            let annexes_signatures: Vec<&Path> = form
                .files("acte_attachments_sign[]")
                .map(|(_, _, path)| path.as_path())
                .collect();
            // S²LOW reads each signature part as text and pastes it, right-trimmed, into
            // `<actes:Signature>` of the message it builds (ActesTransaction::addSign, then
            // generateActeXMLFile): base64 makes a valid message; raw DER does not, and the
            // envelope comes back in anomaly. Kept decoded, as the `.p7s` beside its file.
            let mut pasted_ok = true;
            for path in signatures.iter().chain(&annexes_signatures) {
                match std::fs::read(path).ok().and_then(|b| pasted_signature(&b)) {
                    Some(der) => pasted_ok &= std::fs::write(path, der).is_ok(),
                    None => pasted_ok = false,
                }
            }
            if !pasted_ok {
                let _ = ctx.store.lock().map(|mut s| {
                    s.reject_acte(
                        id,
                        "Erreur lors de la validation de l'enveloppe : le contenu de \
                         <actes:Signature> n'est pas un texte base64 valide",
                    )
                });
            }
            let signed_names = |first: usize, count: usize| -> Vec<String> {
                names
                    .iter()
                    .skip(first)
                    .take(count)
                    .map(|n| format!("{n}.p7s"))
                    .collect()
            };
            // The files are kept for the bordereau and the stamped copies; a failure here
            // only means those cannot be given later.
            let _ = fichiers::keep(ctx, id, &saved, &names);
            let _ = fichiers::keep(ctx, id, &signatures, &signed_names(0, signatures.len()));
            let _ = fichiers::keep(
                ctx,
                id,
                &annexes_signatures,
                &signed_names(1, annexes_signatures.len()),
            );
            text(&format!("OK\n{id}\n\n"))
        }
        Ok(Inserted::Existing(_)) => ko(
            "Un acte portant le même numéro interne existe déjà dans la base de données.\nIl faut peut-être ajouter un suffixe au numéro.",
        ),
        Err(e) => ko(&format!(
            "Erreur lors de l'enregistrement de la transaction :\n{e}"
        )),
    }
}

/// A signature part as S²LOW pastes it into the ACTES message: text, right-trimmed, which must
/// be base64 (line breaks allowed) to make a valid `<actes:Signature>`; its decoded bytes.
fn pasted_signature(part: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(part).ok()?.trim_end();
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if clean.is_empty()
        || !clean
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return None;
    }
    openssl::base64::decode_block(&clean).ok()
}

fn acte_status(ctx: &Ctx, account: i64, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let id = query.get("transaction").and_then(|s| s.parse::<i64>().ok());
    let unique_id = query.get("unique_id").map(String::as_str);
    if id.is_none() && unique_id.is_none() {
        return text("KO\nNuméro de transaction invalide.\n");
    }
    let Ok(mut store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let Ok(Some(acte)) = store.find_acte(account, id, unique_id) else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    let Ok(acte) = acknowledge_if_due(ctx, &mut store, account, acte) else {
        return text("KO\nErreur interne\n");
    };
    match (acte.statut, &acte.ar) {
        (4, Some(ar)) => text(&format!("OK\n4\n{ar}")),
        (-1, Some(message)) => text(&format!("OK\n-1\n{message}\n")),
        (statut, _) => text(&format!("OK\n{statut}\n")),
    }
}

/// Why what the préfecture received does not conform to the ACTES schema, if it does not: the
/// schema shipped inside the program, or the one the sandbox's settings name.
fn schema_anomaly(ctx: &Ctx, ar: &str) -> Option<String> {
    use crate::xml::schema::{Builtin, SchemaKind, XmlSchema};
    let check = || -> Result<Vec<crate::findings::Finding>, String> {
        let schema = if ctx.settings.schema_actes.is_empty() {
            Builtin::Actes.load(&ctx.depots)
        } else {
            XmlSchema::load(Path::new(&ctx.settings.schema_actes), SchemaKind::Actes)
        }
        .map_err(|e| e.to_string())?;
        schema
            .validate_bytes("acte-recu.xml", &crate::latin1::encode_lossy(ar))
            .map_err(|e| e.to_string())
    };
    match check() {
        // Only libxml2's own words (after the first colon) are kept: the anomaly says the rest.
        Ok(findings) => findings.first().map(|f| {
            let detail = f
                .message
                .split_once(" : ")
                .map_or(f.message.as_str(), |(_, d)| d);
            format!(
                "Anomalie (nature 020) : l'acte reçu n'est pas conforme au schéma ACTES : {detail}"
            )
        }),
        // A schema that cannot be used is the sandbox's problem, not the act's.
        Err(_) => None,
    }
}

/// Why the préfecture refuses the matière, if it does.
fn classification_anomaly(ctx: &Ctx, matieres: &[String]) -> Option<String> {
    let xml = replies::classification_xml(&ctx.settings.date_classification);
    let classification =
        crate::actes::classification::Classification::parse(&xml, "bac-a-sable").ok()?;
    let levels: Vec<u32> = matieres.iter().filter_map(|m| m.parse().ok()).collect();
    let code = crate::actes::model::CodeMatiere::from_levels(levels)?;
    if classification.libelle(&code).is_some() {
        return None;
    }
    Some(format!(
        "Anomalie (nature 012) : la matière {} n'existe pas dans la classification en vigueur du {}.",
        matieres.join("."),
        ctx.settings.date_classification
    ))
}

/// The préfecture's part: once the delay has passed, the act gets its AR (and, if set, a letter).
pub(crate) fn acknowledge_if_due(
    ctx: &Ctx,
    store: &mut Store,
    account: i64,
    mut acte: store::StoredActe,
) -> rusqlite::Result<store::StoredActe> {
    let due = acte.recu_ms + (ctx.settings.delai_ar_secondes * 1000.0) as i64;
    if acte.statut != 1 || now_ms() < due {
        return Ok(acte);
    }
    // The préfecture checks the matière against the classification in force: an act classified
    // under a matière it does not know gets an anomaly instead of an AR.
    if let Some(message) = classification_anomaly(ctx, &acte.matieres) {
        store.reject_acte(acte.id, &message)?;
        acte.statut = -1;
        acte.ar = Some(message);
        return Ok(acte);
    }
    let ar = replies::ar_acte(&replies::ActeRecu {
        id_acte: &acte.unique_id,
        nature: acte.nature,
        date_decision: &acte.date_decision,
        numero: &acte.numero,
        matieres: &acte.matieres,
        objet: &acte.objet,
        fichiers: &acte.fichiers,
        date_reception: &today(),
        classification_date: &ctx.settings.date_classification,
        document_papier: acte.papier,
    });
    // The préfecture's check of what reaches it: the act's data as the AR carries them must
    // conform to the ACTES schema (an objet longer than it allows, for instance).
    if let Some(message) = schema_anomaly(ctx, &ar) {
        store.reject_acte(acte.id, &message)?;
        acte.statut = -1;
        acte.ar = Some(message);
        return Ok(acte);
    }
    store.acknowledge_acte(acte.id, &ar)?;
    let letter = match ctx.settings.courrier_apres_ar.as_str() {
        "courrier_simple" => Some(2),
        "demande_pieces" => Some(3),
        "lettre_observations" => Some(4),
        _ => None,
    };
    if let Some(kind) = letter {
        let archive = replies::prefecture_document(kind, &acte.unique_id, &today());
        store.add_document(account, acte.id, kind, &archive)?;
    }
    acte.statut = 4;
    acte.ar = Some(ar);
    Ok(acte)
}

fn cancel_acte(ctx: &Ctx, account: i64, form: &Form) -> Response<Full<Bytes>> {
    let Ok(id) = form.text("id").parse::<i64>() else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    let Ok(mut store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let Ok(Some(acte)) = store.find_acte(account, Some(id), None) else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    if acte.statut != 4 {
        return text(
            "KO\nImpossible d'annuler une transaction qui n'est pas en état « Acquittement reçu ».\n",
        );
    }
    match store.add_cancellation(account, acte.id) {
        Ok(Some(cancel_id)) => text(&format!("OK\n{cancel_id}\n")),
        Ok(None) => {
            text("KO\nUne demande d'annulation est déjà en cours pour cette transaction.\n")
        }
        Err(_) => text("KO\nErreur interne\n"),
    }
}

/// The collectivité answers a préfecture document, as actes_transac_reponse_create.php
/// (libriciel/s2low) takes it, in its order: the typology of the answer, its file, the pieces,
/// then the message, whose kind comes from the letter's own type and `type_envoie`
/// (ActesTransaction::generateReponseCourrierXMLFile and getStdFileName): a courrier simple gets a
/// ReponseCourrierSimple (2-2) whatever `type_envoie` says; a demande de pièces (3) or a lettre
/// d'observations (4) gets `{type}-{type_envoie}` with `type_envoie` 3 (refus, rejet) or 4
/// (envoi, réponse), anything else being « Vous devez choisir un type de réponse »; any other
/// letter (a déféré) or an id that names none is « Mauvais type de transaction. » — the script
/// loads the letter without checking it exists. Recorded: the letter and the message code.
/// The real script takes a letter of any collectivité; the sandbox, the account's own only.
fn reply_to_document(ctx: &Ctx, account: i64, form: &Form) -> Response<Full<Bytes>> {
    if form.text("type_acte").is_empty() {
        return text("KO\nErreur lors de la réception du fichier : typologie absente\n");
    }
    let Some((_, name, path)) = form.files("acte_pdf_file").next() else {
        return text("KO\nEnvoi de fichier illégal.\n");
    };
    // ActesTransaction::addFile for the file of an answer (not a type-1 act): its MIME type
    // read from the content must be PDF, XML, PNG or JPEG.
    let accepted = |mime: &str| {
        matches!(
            mime,
            "application/pdf" | "application/xml" | "image/png" | "image/jpeg"
        )
    };
    if !accepted(sniff(path)) {
        return text(&format!(
            "KO\nErreur de validation du fichier de l'acte :\nLe fichier de réponse \" {name} \" est de type \" {} \". Fichier PDF, XML, PNG ou JPEG requis.\n",
            sniff(path)
        ));
    }
    let types = form.texts("type_pj[]");
    for (i, (_, piece, piece_path)) in form.files("acte_attachments[]").enumerate() {
        if types.get(i).is_none_or(|t| t.is_empty()) {
            return text(&format!(
                "KO\nErreur lors de la réception du fichier annexe {piece} : typologie absente\n"
            ));
        }
        if !accepted(sniff(piece_path)) {
            return text(&format!(
                "KO\nErreur de validation d'un fichier de pièce jointe :\nLe fichier attaché \" {piece} \" est de type \" {} \". Fichier PDF, XML, PNG ou JPEG requis.\n",
                sniff(piece_path)
            ));
        }
    }
    let Ok(mut store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let document = form.text("id").parse::<i64>().ok();
    let kind = match document.map(|d| store.document_kind(account, d)) {
        Some(Ok(kind)) => kind,
        Some(Err(_)) => return text("KO\nErreur interne\n"),
        None => None,
    };
    let type_envoie = form.text("type_envoie");
    let code = match (kind, type_envoie.as_str()) {
        (Some(2), _) => "2-2".to_owned(),
        (Some(k @ (3 | 4)), t @ ("3" | "4")) => format!("{k}-{t}"),
        (Some(3 | 4), _) => {
            return text(
                "KO\nErreur lors de la génération de l'acte : Vous devez choisir un type de réponse\n",
            );
        }
        _ => {
            return text(
                "KO\nErreur lors de la génération de l'acte : Mauvais type de transaction.\n",
            );
        }
    };
    match document.map(|d| store.add_reply(account, d, &code)) {
        Some(Ok(Some(id))) => text(&format!("OK\n{id}\n")),
        Some(Err(_)) => text("KO\nErreur interne\n"),
        _ => text("KO\nErreur lors de la génération de l'acte : Mauvais type de transaction.\n"),
    }
}

pub(crate) fn json(value: &serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap_or_default()
}

fn list_documents(ctx: &Ctx, account: i64) -> Response<Full<Bytes>> {
    let Ok(store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let Ok(documents) = store.unread_documents(account) else {
        return text("KO\nErreur interne\n");
    };
    // As S²LOW's PHP prints them: every value a string.
    let list: Vec<serde_json::Value> = documents
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.id.to_string(),
                "type": d.genre.to_string(),
                "last_status_id": "7",
                "unique_id": d.unique_id,
                "number": d.numero,
                "related_transaction_id": d.acte_id.to_string(),
            })
        })
        .collect();
    json(&serde_json::Value::Array(list))
}

/// `actes_transac_get_document.php?id=`: for a préfecture document S²LOW does not answer with
/// the archive but with a redirect to `actes_download_file.php?env=<envelope>`, a path relative
/// to the module (actes_transac_get_document.php, last branch: `header("Location: …")`).
fn get_document(ctx: &Ctx, account: i64, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let id = query
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(-1);
    match ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.document(account, id).ok().flatten())
    {
        Some(_) => Response::builder()
            .status(StatusCode::FOUND)
            .header("content-type", "text/plain")
            .header("location", format!("actes_download_file.php?env={id}"))
            .body(Full::new(Bytes::new()))
            .unwrap_or_default(),
        None => text("KO\nNuméro de transaction invalide.\n"),
    }
}

/// `actes_download_file.php?env=`: the envelope (the `.tar.gz`) of a transaction — here, of a
/// préfecture document (actes_download_file.php, `$mode = "env"`, `$env->sendfile()`).
pub(crate) fn download_envelope(ctx: &Ctx, account: i64, env: &str) -> Response<Full<Bytes>> {
    let id = env.parse::<i64>().unwrap_or(-1);
    match ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.document(account, id).ok().flatten())
    {
        Some(archive) => Response::builder()
            .header("content-type", "application/x-gzip")
            .body(Full::new(Bytes::from(archive)))
            .unwrap_or_default(),
        // The real page sends the browser home with a message in the session.
        None => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "/")
            .body(Full::new(Bytes::new()))
            .unwrap_or_default(),
    }
}

fn mark_document_read(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query
        .get("transaction_id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(-1);
    match ctx.store.lock().ok().map(|mut s| s.mark_read(account, id)) {
        Some(Ok(true)) => json(&serde_json::json!({ "result": "ok" })),
        _ => json(&serde_json::json!({ "result": "ko", "message": "Document introuvable" })),
    }
}

/// The answer of helios_importer_fichier.php as PHP writes it: a DOMDocument made without an
/// encoding and saved with `formatOutput` (no encoding declared, every non-ASCII character as a
/// `&#x…;` reference, an empty `<id/>` when there is no id), the message passed through
/// `utf8_encode` although already UTF-8 (so « é » travels as `&#xC3;&#xA9;`).
fn import_answer(id: &str, resultat: &str, message: &str) -> Vec<u8> {
    let twice: String = message.bytes().map(char::from).collect();
    let references = |text: &str| -> String {
        replies::escape(text)
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    format!("&#x{:X};", u32::from(c))
                }
            })
            .collect()
    };
    let id = if id.is_empty() {
        "  <id/>\n".to_owned()
    } else {
        format!("  <id>{}</id>\n", references(id))
    };
    format!(
        "<?xml version=\"1.0\"?>\n<import>\n{id}  <resultat>{resultat}</resultat>\n  <message>{}</message>\n</import>\n",
        references(&twice)
    )
    .into_bytes()
}

fn import_pes(ctx: &Ctx, account: i64, form: Form) -> Response<Full<Bytes>> {
    let Some((_, name, path)) = form.files("enveloppe").next() else {
        return xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        ));
    };
    let sha1 = match std::fs::read(path) {
        Ok(bytes) => hex::encode(openssl::sha::sha1(&bytes)),
        Err(_) => {
            return xml(import_answer(
                "",
                "KO",
                "Echec lors du téléchargement du fichier",
            ));
        }
    };
    if draw(ctx.settings.pannes.ko) {
        return xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        ));
    }
    let kept = ctx.depots.join(format!("helios-{account}-{sha1}.xml"));
    if !kept.exists() && std::fs::rename(path, &kept).is_err() {
        return xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        ));
    }
    let Ok(mut store) = ctx.store.lock() else {
        return xml(import_answer("", "KO", "Erreur interne"));
    };
    match store.insert_pes(account, &sha1, name, &kept.to_string_lossy(), now_ms()) {
        Ok(Inserted::New(id)) => xml(import_answer(
            &id.to_string(),
            "OK",
            "Téléchargement du fichier réussi.",
        )),
        // As S²LOW's public.ssl/modules/helios/api/helios_importer_fichier.php (@c778077b): a
        // file whose SHA-1 it already holds is refused as a duplicate, and the answer is KO
        // « doublon détecté » with an EMPTY <id/> — the earlier transaction is not named (see
        // the reference notes, S²LOW « Corrections »).
        Ok(Inserted::Existing(_)) => xml(import_answer(
            "",
            "KO",
            crate::platform::s2low::HELIOS_DOUBLON,
        )),
        Err(_) => xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        )),
    }
}

/// Play the DGFiP: one acquit line per bordereau, refused when its signature is missing or bad.
fn judge_pes(ctx: &Ctx, path: &Path) -> (i32, Vec<u8>, crate::pes::PesSummary) {
    let summary = std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            crate::pes::read_summary(std::io::BufReader::new(f)).map_err(|e| e.to_string())
        });
    let Ok(summary) = summary else {
        let empty = crate::pes::PesSummary::default();
        let line = replies::AckLine {
            domaine: 0,
            accepte: false,
            bordereau: None,
            exercice: None,
            erreur: Some(("ERREUR_XSD".into(), "Fichier non conforme au schéma".into())),
        };
        let acquit = replies::pes_acquit(&empty, &today(), &[line]);
        return (6, acquit, empty);
    };
    let verdict = crate::pes::verify::verify_file(path, ctx.trust.as_ref()).ok();
    // A file whose Ids are ambiguous (a bordereau copied, moved or replaced beside its signed
    // original) is refused whole: no signature in it can say what it covers.
    let ambiguous = verdict
        .as_ref()
        .is_none_or(crate::pes::verify::FileVerdict::ids_ambiguous);
    let valid_targets: Vec<String> = verdict
        .iter()
        .flat_map(|v| v.signatures.iter())
        .filter(|s| s.valide)
        .filter_map(|s| s.cible.clone())
        .collect();
    // The verifier only calls a signature valid where it stands on the element it covers, and
    // Ids are unique: a valid signature on the root's Id is the global signature.
    let global_ok = summary
        .id
        .as_ref()
        .is_some_and(|root| valid_targets.iter().any(|t| t == root));
    let mut lines = Vec::new();
    for b in &summary.bordereaux {
        let signed_ok = !ambiguous
            && (global_ok
                || b.id
                    .as_ref()
                    .is_some_and(|id| valid_targets.iter().any(|t| t == id)));
        let erreur = if signed_ok {
            None
        } else if ambiguous {
            Some((
                "ERREUR_SIGNATURE_INVALIDE".to_owned(),
                "Fichier ambigu : identifiants en double ou fichier illisible".to_owned(),
            ))
        } else if b.signe {
            Some((
                "ERREUR_SIGNATURE_BORDEREAU_INVALIDE".to_owned(),
                "Signature du bordereau invalide".to_owned(),
            ))
        } else {
            Some((
                "ERREUR_SIGNATURE_INVALIDE".to_owned(),
                "Absence de signature".to_owned(),
            ))
        };
        lines.push(replies::AckLine {
            domaine: if signed_ok { 5 } else { 3 },
            accepte: signed_ok,
            bordereau: b.numero.clone(),
            exercice: b.exercice.clone(),
            erreur,
        });
    }
    if lines.is_empty() {
        lines.push(replies::AckLine {
            domaine: 0,
            accepte: false,
            bordereau: None,
            exercice: None,
            erreur: Some(("ERREUR_XSD".into(), "Aucun bordereau".into())),
        });
    }
    let status = if lines.iter().all(|l| l.accepte) {
        4
    } else {
        6
    };
    let acquit = replies::pes_acquit(&summary, &today(), &lines);
    (status, acquit, summary)
}

fn transaction_answer(id: &str, resultat: &str, message: &str, status: Option<i32>) -> Vec<u8> {
    let status = status
        .map(|s| format!("<status>{s}</status>"))
        .unwrap_or_default();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<transaction><id>{}</id><resultat>{resultat}</resultat><message>{}</message>{status}</transaction>\n",
        replies::escape(id),
        replies::escape(message)
    );
    crate::latin1::encode_lossy(&body)
}

fn pes_status(ctx: &Ctx, account: i64, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let Some(id) = query.get("transaction").and_then(|s| s.parse::<i64>().ok()) else {
        return xml(transaction_answer(
            "",
            "KO",
            "Pas de numéro de transaction.",
            None,
        ));
    };
    let found = ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.find_pes(account, id).ok().flatten());
    let Some(pes) = found else {
        return xml(transaction_answer(
            &id.to_string(),
            "KO",
            "Numéro de transaction invalide",
            None,
        ));
    };
    let due = pes.recu_ms + (ctx.settings.delai_acquit_secondes * 1000.0) as i64;
    let mut status = pes.statut;
    if pes.statut == 1 && now_ms() >= due {
        let (judged, acquit, summary) = judge_pes(ctx, Path::new(&pes.chemin));
        let acknowledged = ctx
            .store
            .lock()
            .is_ok_and(|mut store| store.acknowledge_pes(pes.id, judged, &acquit).is_ok());
        if acknowledged {
            status = judged;
            if judged == 4 {
                retours::make_for_accepted_pes(ctx, account, pes.id, &summary);
            }
        }
    }
    xml(transaction_answer(
        &pes.id.to_string(),
        "OK",
        "",
        Some(status),
    ))
}

fn pes_acquit(ctx: &Ctx, account: i64, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let id = query
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(-1);
    let found = ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.find_pes(account, id).ok().flatten());
    match found.and_then(|p| p.acquit) {
        Some(acquit) => xml(acquit),
        None => text("KO\nPas d'acquittement disponible\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_s2low_rule() {
        for ok in ["A", "2026_D12", "DEL2026001", "A_B"] {
            assert!(number_is_valid(ok), "{ok}");
        }
        for bad in ["", "_A", "A_", "a12", "1234567890123456", "D-12"] {
            assert!(!number_is_valid(bad), "{bad}");
        }
    }
}
