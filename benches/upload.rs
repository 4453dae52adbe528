//! Upload throughput over loopback mTLS: Paraphe's S²LOW client sending a 20 MB act to the
//! sandbox, against `curl` doing the same multipart upload with the same client key (in a file),
//! in the same run on the same machine. Figures are printed, not asserted (issue 5 target:
//! Paraphe ≥ 0.8× curl). Run with `scripts/bench-upload.sh`.

use paraphe::card::pin::FixedPrompt;
use paraphe::card::software::SoftwareKey;
use paraphe::platform::Platform;
use paraphe::platform::s2low::{ActeFields, S2low};
use paraphe::platform::sandbox::{SandboxOptions, pki::DEMO_P12_PASSWORD, run};
use paraphe::platform::tls::SharedCardKey;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    // `cargo test --all-targets` runs this binary too, without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let size_mb: usize = std::env::var("TAILLE_MO")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let rounds: usize = std::env::var("TOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("bac");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(
        data.join("bac-a-sable.toml"),
        "taille_max_octets = 1073741824\n",
    )
    .expect("settings");
    let (tx, rx) = std::sync::mpsc::channel();
    let options = SandboxOptions {
        ecoute: "127.0.0.1:0".parse().expect("addr"),
        donnees: data.clone(),
        ca_clients: Vec::new(),
    };
    std::thread::spawn(move || {
        let _ = run(options, |ready| {
            let _ = tx.send((ready.adresse, ready.ca.clone(), ready.demo_p12.clone()));
        });
    });
    let (address, ca, p12) = rx.recv_timeout(Duration::from_secs(30)).expect("sandbox");
    let url = format!("https://{address}");

    // A PDF of the requested size (content does not matter to TLS; the header makes it a PDF).
    let pdf = dir.path().join("acte.pdf");
    let mut bytes = b"%PDF-1.4\n%".to_vec();
    bytes.resize(size_mb * 1024 * 1024, b'x');
    std::fs::write(&pdf, &bytes).expect("pdf");

    let key = SoftwareKey::open(&p12, &mut FixedPrompt::new(DEMO_P12_PASSWORD)).expect("p12");
    let key = SharedCardKey::new(Box::new(key)).expect("key");
    let fields = |n: usize| ActeFields {
        nature_code: 1,
        numero: format!("BENCHP{n}"),
        objet: "Essai de débit".into(),
        date_decision: "2026-01-15".into(),
        matiere: "1.1".into(),
        type_acte: "99_DE".into(),
        types_annexes: Vec::new(),
        document_papier: false,
    };

    // curl's key and certificate in files (from the same PKCS#12).
    let pem = dir.path().join("client.pem");
    let out = Command::new("openssl")
        .args(["pkcs12", "-in"])
        .arg(&p12)
        .args([
            "-nodes",
            "-passin",
            &format!("pass:{DEMO_P12_PASSWORD}"),
            "-out",
        ])
        .arg(&pem)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut paraphe_best = Duration::MAX;
    let mut curl_best = Duration::MAX;
    for round in 0..rounds {
        // A new client each round: like curl, a new connection and TLS handshake every time.
        let start = Instant::now();
        let client = S2low::new(&url, Some(&ca), Some(key.clone()), Duration::from_secs(120))
            .expect("client");
        client
            .acte_create(
                &fields(round),
                &paraphe::platform::s2low::ActeFiles {
                    acte: &pdf,
                    annexes: &[],
                    acte_signature: None,
                    annexes_signatures: &[],
                },
                None,
            )
            .expect("paraphe upload");
        paraphe_best = paraphe_best.min(start.elapsed());

        let start = Instant::now();
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(&ca)
            .arg("--cert")
            .arg(&pem)
            .args([
                "-F",
                "api=1",
                "-F",
                "nature_code=1",
                "-F",
                &format!("number=BENCHC{round}"),
                "-F",
                "subject=Essai",
                "-F",
                "decision_date=2026-01-15",
                "-F",
                "classif1=1",
                "-F",
                "classif2=1",
                "-F",
                "type_acte=99_DE",
                "-F",
                &format!("acte_pdf_file=@{}", pdf.display()),
                &format!("{url}/modules/actes/actes_transac_create.php"),
            ])
            .output()
            .expect("curl");
        curl_best = curl_best.min(start.elapsed());
        assert!(
            out.stdout.starts_with(b"OK"),
            "curl: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let mb = size_mb as f64;
    let p = mb / paraphe_best.as_secs_f64();
    let c = mb / curl_best.as_secs_f64();
    println!(
        "Envoi d'un acte de {size_mb} Mo en HTTPS avec certificat client (boucle locale, meilleur de {rounds}) :"
    );
    println!(
        "  Paraphe (client S²LOW, connexion comprise) : {:>7.1} Mo/s ({:.0} ms)",
        p,
        paraphe_best.as_secs_f64() * 1000.0
    );
    println!(
        "  curl (processus entier)                    : {:>7.1} Mo/s ({:.0} ms)",
        c,
        curl_best.as_secs_f64() * 1000.0
    );
    println!(
        "  rapport Paraphe / curl                     : {:.2}× (objectif ≥ 0,8×)",
        p / c
    );
}
