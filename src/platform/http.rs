//! HTTP for the platform clients: reqwest's async client on a small runtime of its own, driven
//! from blocking code (the sender runs on its own thread). Why not reqwest's blocking client: it
//! moves an upload body through a channel 8 KiB at a time, which measured 0.79× curl on a 20 MB
//! act (scripts/bench-upload.sh); here files go out in 256 KiB chunks read from disk, never whole.

use super::PlatformError;
use super::tls::{SharedCardKey, client_config};
use crate::messages::tf;
use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use zeroize::Zeroizing;

const CHUNK: usize = 256 * 1024;

/// A `Location` header as sent: S²LOW puts the confirmation's error message in it raw, not
/// percent-encoded (UTF-8, or ISO-8859-1 on older pages), which a strict reading would drop.
fn location_text(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) => text.to_owned(),
        Err(_) => crate::latin1::decode(raw),
    }
}

/// Bytes sent so far / total, for progress bars (read from any thread).
#[derive(Debug, Default)]
pub struct UploadProgress {
    pub sent: AtomicU64,
    pub total: AtomicU64,
}

/// One field of a multipart form.
pub enum Field {
    Text(String, Vec<u8>),
    /// A file streamed from disk under this field name.
    File(String, PathBuf),
    /// A file streamed from disk under this field name, sent under the given file name
    /// (sanitised as [`part_name`] does): for a platform that refers to parts by their name.
    FileAs(String, PathBuf, String),
    /// A small file made in memory: field name, file name, content.
    Named(String, String, Vec<u8>),
}

impl Field {
    /// A text field.
    pub fn text(name: &str, value: &str) -> Field {
        Field::Text(name.to_owned(), value.as_bytes().to_vec())
    }
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

pub struct Http {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    key: Option<SharedCardKey>,
    login: Option<(String, Zeroizing<String>)>,
}

impl Http {
    pub fn new(
        ca: Option<&Path>,
        key: Option<SharedCardKey>,
        timeout: Duration,
    ) -> Result<Http, PlatformError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(client_config(ca, key.as_ref())?)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("Paraphe/", env!("CARGO_PKG_VERSION")))
            // A redirect is an answer to read (S²LOW's confirmation answers with one), never a
            // place to send the login to.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PlatformError::Config(error_chain(&e)))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PlatformError::Config(e.to_string()))?;
        Ok(Http {
            client,
            runtime,
            key,
            login: None,
        })
    }

    pub fn set_login(&mut self, user: String, password: Zeroizing<String>) {
        self.login = Some((user, password));
    }

    pub fn get(&self, url: url::Url) -> Result<(u16, Vec<u8>), PlatformError> {
        self.send(self.client.get(url))
            .map(|answer| (answer.status, answer.body))
    }

    /// A GET that follows one redirect to the same origin (scheme, host and port), as a
    /// browser would for a download page; a redirect elsewhere, or a second one, is an answer
    /// that cannot be read (the certificate and login never go to another host).
    pub fn get_following_once(&self, url: url::Url) -> Result<(u16, Vec<u8>), PlatformError> {
        let answer = self.send(self.client.get(url.clone()))?;
        if !(300..400).contains(&answer.status) {
            return Ok((answer.status, answer.body));
        }
        let target = answer
            .location
            .as_deref()
            .and_then(|l| url.join(l).ok())
            .filter(|t| t.origin() == url.origin())
            .ok_or_else(|| {
                PlatformError::Unknown(tf(
                    "plateforme.redirection",
                    &[("adresse", answer.location.as_deref().unwrap_or(""))],
                ))
            })?;
        let second = self.send(self.client.get(target.clone()))?;
        if (300..400).contains(&second.status) {
            return Err(PlatformError::Unknown(tf(
                "plateforme.redirection",
                &[("adresse", second.location.as_deref().unwrap_or(""))],
            )));
        }
        Ok((second.status, second.body))
    }

    /// A GET whose answer is a redirect: its status and `Location`.
    pub fn get_redirect(&self, url: url::Url) -> Result<(u16, Option<String>), PlatformError> {
        self.send(self.client.get(url))
            .map(|answer| (answer.status, answer.location))
    }

    pub fn post(
        &self,
        url: url::Url,
        fields: Vec<Field>,
        progress: Option<Arc<UploadProgress>>,
    ) -> Result<(u16, Vec<u8>), PlatformError> {
        let progress = progress.unwrap_or_default();
        progress.sent.store(0, Ordering::Relaxed);
        let mut total = 0;
        let mut form = Form::new();
        for field in fields {
            form = match field {
                Field::Text(name, value) => form.part(name, Part::bytes(value)),
                Field::File(name, path) => {
                    let (part, len) = file_part(&path, &part_name(&path), &progress)?;
                    total += len;
                    form.part(name, part)
                }
                Field::FileAs(name, path, file_name) => {
                    let file_name = crate::files::sanitise_name(&file_name);
                    let (part, len) = file_part(&path, &file_name, &progress)?;
                    total += len;
                    form.part(name, part)
                }
                Field::Named(name, file_name, content) => {
                    total += content.len() as u64;
                    progress
                        .sent
                        .fetch_add(content.len() as u64, Ordering::Relaxed);
                    let file_name = crate::files::sanitise_name(&file_name);
                    form.part(name, Part::bytes(content).file_name(file_name))
                }
            };
        }
        progress.total.store(total, Ordering::Relaxed);
        self.send(self.client.post(url).multipart(form))
            .map(|answer| (answer.status, answer.body))
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, PlatformError> {
        let request = match &self.login {
            Some((user, password)) => request.basic_auth(user, Some(password.as_str())),
            None => request,
        };
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| self.classify(e))?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| location_text(v.as_bytes()));
            let body = response
                .bytes()
                .await
                .map_err(|e| PlatformError::Unknown(error_chain(&e)))?;
            Ok(Answer {
                status,
                location,
                body: body.to_vec(),
            })
        })
    }

    /// No connection (or a refused handshake) means nothing was sent; anything later is unknown.
    fn classify(&self, error: reqwest::Error) -> PlatformError {
        if let Some(card) = self.key.as_ref().and_then(|k| k.take_error()) {
            return PlatformError::NotSent(card);
        }
        let detail = error_chain(&error);
        if error.is_connect() {
            PlatformError::NotSent(detail)
        } else if error.is_builder() {
            PlatformError::Config(detail)
        } else {
            PlatformError::Unknown(detail)
        }
    }
}

/// The file name a [`Field::File`] part carries: the file's own name, sanitised (what S²LOW
/// keeps). A platform that matches parts by name must use this same name.
pub(crate) fn part_name(path: &Path) -> String {
    path.file_name()
        .map(|n| crate::files::sanitise_name(&n.to_string_lossy()))
        .unwrap_or_else(|| "fichier".into())
}

/// A file part streamed from disk in large chunks under `name`, counting bytes for the progress
/// bar.
fn file_part(
    path: &Path,
    name: &str,
    progress: &Arc<UploadProgress>,
) -> Result<(Part, u64), PlatformError> {
    let unreadable = |e: std::io::Error| {
        PlatformError::Config(tf(
            "plateforme.fichier_illisible",
            &[
                ("chemin", &path.display().to_string()),
                ("detail", &e.to_string()),
            ],
        ))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    let name = name.to_owned();
    let progress = progress.clone();
    let chunks = futures_util::stream::unfold(Some(file), move |file| {
        let progress = progress.clone();
        async move {
            let mut file = file?;
            let mut buf = vec![0u8; CHUNK];
            // A blocking read of local disk on the client's own runtime: nothing else waits on it.
            match file.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    progress.sent.fetch_add(n as u64, Ordering::Relaxed);
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    let part = Part::stream_with_length(reqwest::Body::wrap_stream(chunks), len).file_name(name);
    Ok((part, len))
}

/// `path` under the platform's address.
pub(crate) fn join(base: &url::Url, path: &str) -> Result<url::Url, PlatformError> {
    base.join(path)
        .map_err(|e| PlatformError::Config(e.to_string()))
}

pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(" : ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S²LOW's raw Location: UTF-8 kept as it is; bytes that are not UTF-8 read as ISO-8859-1.
    #[test]
    fn a_raw_location_is_read_whatever_its_bytes() {
        let utf8 = "https://p.invalid/c?erreur=1&message=Accès refusé « x »";
        assert_eq!(location_text(utf8.as_bytes()), utf8);
        assert_eq!(
            location_text(b"https://p.invalid/c?erreur=1&message=Acc\xe8s refus\xe9"),
            "https://p.invalid/c?erreur=1&message=Accès refusé"
        );
    }
}
