//! A test-only time-stamping authority made with the openssl command line (RFC 3161).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A test-only TSA: key, certificate with the timeStamping purpose, `openssl ts` configuration.
pub struct Tsa {
    pub key: PathBuf,
    pub cert: PathBuf,
    pub config: PathBuf,
}

pub fn tsa(dir: &Path) -> Tsa {
    let key = dir.join("tsa.key");
    let cert = dir.join("tsa.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-subj",
            "/CN=Horodatage TEST ONLY/O=Paraphe TEST ONLY",
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl req");
    assert!(status.success());
    let serial = dir.join("tsa.serial");
    std::fs::write(&serial, "01\n").expect("serial");
    let config = dir.join("tsa.cnf");
    std::fs::write(
        &config,
        format!(
            "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = {}\ncrypto_device = builtin\n\
             signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
             ess_cert_id_alg = sha256\naccuracy = secs:1\n",
            serial.display()
        ),
    )
    .expect("config");
    Tsa { key, cert, config }
}

pub fn timestamp(tsa: &Tsa, document: &Path, out: &Path) {
    // The query goes beside the TSA's files, not beside the timestamped file.
    let query = tsa.config.with_file_name(format!(
        "{}.tsq",
        out.file_name().unwrap_or_default().to_string_lossy()
    ));
    let status = Command::new("openssl")
        .args(["ts", "-query", "-sha256", "-cert", "-data"])
        .arg(document)
        .arg("-out")
        .arg(&query)
        .status()
        .expect("openssl ts -query");
    assert!(status.success());
    let status = Command::new("openssl")
        .args(["ts", "-reply", "-queryfile"])
        .arg(&query)
        .arg("-inkey")
        .arg(&tsa.key)
        .arg("-signer")
        .arg(&tsa.cert)
        .arg("-config")
        .arg(&tsa.config)
        .arg("-out")
        .arg(out)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl ts -reply");
    assert!(status.success());
}

/// The TSA over HTTP (RFC 3161 §3.4: a query POSTed, the reply returned), for tools that ask a
/// timestamp server by URL; stopped when dropped.
pub struct TsaServer {
    child: std::process::Child,
    pub url: String,
}

impl Drop for TsaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(tsa: &Tsa) -> TsaServer {
    use std::io::BufRead;
    let script = format!(
        r#"
import http.server, subprocess, tempfile, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        query = self.rfile.read(int(self.headers["Content-Length"]))
        with tempfile.TemporaryDirectory() as d:
            open(d + "/q.tsq", "wb").write(query)
            subprocess.run(["openssl", "ts", "-reply", "-queryfile", d + "/q.tsq", "-inkey", {key:?},
                            "-signer", {cert:?}, "-config", {config:?}, "-out", d + "/r.tsr"],
                           check=True, stderr=subprocess.DEVNULL)
            reply = open(d + "/r.tsr", "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"#,
        key = tsa.key.display().to_string(),
        cert = tsa.cert.display().to_string(),
        config = tsa.config.display().to_string(),
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 TSA server");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("port");
    TsaServer {
        child,
        url: format!("http://127.0.0.1:{}/", line.trim()),
    }
}
