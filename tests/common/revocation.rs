//! A small authority made at test time with `openssl ca`, whose certificates name a CRL
//! distribution point or an OCSP responder on 127.0.0.1, and the servers that answer there
//! (`python3 -m http.server` for the CRL, `openssl ocsp` for OCSP).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free now on 127.0.0.1 (nothing listens on it once returned).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn run(command: &mut Command) {
    let out = command.output().expect("openssl");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The authority, its folder, and the ports its certificates name.
pub struct RevocationCa {
    pub dir: PathBuf,
    pub ca_pem: PathBuf,
    /// Where the CRL distribution point of `cdp` certificates points (`/ca.crl`).
    pub crl_port: u16,
    /// The OCSP responder of `ocsp` certificates.
    pub ocsp_port: u16,
    /// Nothing listens there: `horsligne` certificates point to it.
    pub closed_port: u16,
}

impl RevocationCa {
    pub fn new(dir: &Path) -> RevocationCa {
        let dir = dir.join("ac-revocation");
        std::fs::create_dir_all(dir.join("certs")).expect("mkdir");
        std::fs::create_dir_all(dir.join("www")).expect("mkdir");
        std::fs::write(dir.join("index.txt"), "").expect("index");
        std::fs::write(dir.join("serial"), "1000\n").expect("serial");
        std::fs::write(dir.join("crlnumber"), "01\n").expect("crlnumber");
        let (crl_port, ocsp_port, closed_port) = (free_port(), free_port(), free_port());
        let leaf =
            "basicConstraints = CA:FALSE\nkeyUsage = critical, nonRepudiation, digitalSignature\n";
        let config = format!(
            "[ca]\ndefault_ca = test_ca\n\
             [test_ca]\ndir = {dir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/certs\n\
             serial = $dir/serial\ncrlnumber = $dir/crlnumber\ncertificate = $dir/ca.pem\n\
             private_key = $dir/ca.key\ndefault_md = sha256\ndefault_days = 30\n\
             default_crl_days = 7\npolicy = policy_any\nunique_subject = no\n\
             copy_extensions = none\n\
             [policy_any]\ncommonName = supplied\n\
             [cdp]\n{leaf}crlDistributionPoints = URI:http://127.0.0.1:{crl_port}/ca.crl\n\
             [ocsp]\n{leaf}authorityInfoAccess = OCSP;URI:http://127.0.0.1:{ocsp_port}/\n\
             [horsligne]\n{leaf}crlDistributionPoints = URI:http://127.0.0.1:{closed_port}/ca.crl\n\
             [sans]\n{leaf}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("ca.cnf"), config).expect("config");
        let ca_pem = dir.join("ca.pem");
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args(["-subj", "/CN=AC Révocation TEST ONLY", "-utf8"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(dir.join("ca.key"))
            .arg("-out")
            .arg(&ca_pem));
        RevocationCa {
            dir,
            ca_pem,
            crl_port,
            ocsp_port,
            closed_port,
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.join("ca.cnf")
    }

    /// A certificate `name` (key `name.key`, certificate `name.pem`) with the extensions of
    /// section `kind` (cdp, ocsp, horsligne, sans).
    pub fn issue(&self, name: &str, kind: &str) -> (PathBuf, PathBuf) {
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        let cert = self.dir.join(format!("{name}.pem"));
        run(Command::new("openssl")
            .args(["req", "-new", "-newkey", "rsa:2048", "-nodes"])
            .args(["-subj", &format!("/CN={name} TEST ONLY")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr));
        run(Command::new("openssl")
            .args(["ca", "-batch", "-notext", "-config"])
            .arg(self.config())
            .args(["-extensions", kind, "-in"])
            .arg(&csr)
            .arg("-out")
            .arg(&cert));
        (cert, key)
    }

    /// Revoke a certificate (now, for a key compromise).
    pub fn revoke(&self, cert: &Path) {
        run(Command::new("openssl")
            .args(["ca", "-batch", "-config"])
            .arg(self.config())
            .arg("-revoke")
            .arg(cert)
            .args(["-crl_reason", "keyCompromise"]));
    }

    /// The CRL as it stands: PEM (returned) and DER under `www/ca.crl` (served).
    pub fn crl(&self) -> PathBuf {
        let pem = self.dir.join("ca.crl.pem");
        run(Command::new("openssl")
            .args(["ca", "-gencrl", "-config"])
            .arg(self.config())
            .arg("-out")
            .arg(&pem));
        run(Command::new("openssl")
            .args(["crl", "-outform", "DER", "-in"])
            .arg(&pem)
            .arg("-out")
            .arg(self.dir.join("www/ca.crl")));
        pem
    }

    /// The CRL served over HTTP on `crl_port`.
    pub fn serve_crl(&self) -> Server {
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(self.dir.join("www"))
            .arg(self.crl_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        Server::started(child, self.crl_port)
    }

    /// The OCSP responder on `ocsp_port`, signing with the authority's key (answers valid a day).
    pub fn serve_ocsp(&self) -> Server {
        let log = self.dir.join("ocsp.log");
        let child = Command::new("openssl")
            .args(["ocsp", "-index"])
            .arg(self.dir.join("index.txt"))
            .args(["-port", &self.ocsp_port.to_string(), "-rsigner"])
            .arg(&self.ca_pem)
            .arg("-rkey")
            .arg(self.dir.join("ca.key"))
            .arg("-CA")
            .arg(&self.ca_pem)
            .args(["-ndays", "1"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("openssl ocsp");
        // Not probed by connecting: `openssl ocsp` serves one connection at a time and would
        // wait on the probe; it says when it listens.
        let start = Instant::now();
        while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("waiting")) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "openssl ocsp did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child }
    }
}

/// A server started by the test, stopped (by its own process id) when dropped.
pub struct Server {
    child: Child,
}

impl Server {
    fn started(child: Child, port: u16) -> Server {
        let server = Server { child };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "server on port {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
