#!/usr/bin/env bash
# Fuzz the parsers that read untrusted files: PES reader + checks, C14N, signature verifier,
# PES_Acquit and PES_Retour readers, encrypted-bid reader, ACTES messages and archives, the
# préfecture's classification, lots from another workstation, the unpacking of a bid's ZIP. Seeds come from ../shared/conformance and, for the bids, lots and ZIPs, from small files
# made here by openssl, tar and Python's zipfile (copied into fuzz/corpus, not committed).
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (test.sh runs it for a few seconds; for a real
#   campaign run e.g. `scripts/fuzz.sh 3600`, and keep fuzz/corpus between runs)
# cargo fuzz wants nightly flags: the one stable toolchain here accepts them with RUSTC_BOOTSTRAP.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-5}
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
SAMPLES=../shared/conformance
seed_bids() {
  local corpus=$1 tmp
  tmp=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" -days 2 \
    -subj "/CN=Fuzz TEST ONLY" 2>/dev/null
  head -c 3000 /dev/urandom > "$tmp/plain"
  openssl cms -encrypt -binary -aes-256-cbc -outform DER -in "$tmp/plain" -out "$corpus/der-cbc" "$tmp/c.pem"
  openssl cms -encrypt -binary -aes-128-gcm -outform DER -stream -in "$tmp/plain" -out "$corpus/ber-gcm" "$tmp/c.pem"
  openssl cms -encrypt -binary -aes-256-cbc -outform PEM -in "$tmp/plain" -out "$corpus/pem" "$tmp/c.pem"
  openssl cms -encrypt -binary -aes-256-cbc -in "$tmp/plain" -out "$corpus/smime" "$tmp/c.pem"
  rm -rf "$tmp"
}
seed_lots() {
  local corpus=$1 tmp sum
  tmp=$(mktemp -d)
  mkdir -p "$tmp/fichiers"
  printf '%%PDF-1.4 essai' > "$tmp/fichiers/1-acte.pdf"
  sum=$(sha256sum "$tmp/fichiers/1-acte.pdf" | cut -d' ' -f1)
  printf '{"format":"paraphe-lot-1","nom":"essai","cree_le":"2026-12-07T10:00:00Z","items":[{"genre":"acte","libelle":"Essai","siren":null,"numero_interne":null,"donnees":{},"fichiers":[{"role":"acte","nom":"fichiers/1-acte.pdf","sha256":"%s","taille":14}]}]}' "$sum" > "$tmp/manifest.json"
  sha256sum "$tmp/manifest.json" | cut -d' ' -f1 > "$tmp/manifest.sha256"
  tar -C "$tmp" -cf "$corpus/lot.tar" manifest.json fichiers/1-acte.pdf manifest.sha256
  rm -rf "$tmp"
}
# Small ZIPs, each with one of the shapes the unpacking must survive. Python's zipfile, because it
# writes what the zip crate refuses to (duplicate names, paths that leave the folder, links).
seed_zips() {
  python3 - "$1" <<'PY'
import sys, zipfile, warnings
warnings.simplefilter("ignore")  # zipfile warns on duplicate names: they are wanted here
out = sys.argv[1]
def make(name, entries, **kw):
    with zipfile.ZipFile(f"{out}/{name}.zip", "w", zipfile.ZIP_DEFLATED, **kw) as z:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                z.writestr(entry, b"cible")
            else:
                z.writestr(entry[0], entry[1])
link = zipfile.ZipInfo("lien")
link.external_attr = (0o120777 << 16)  # a symbolic link, as Unix zip writes it
make("normal", [("DC1.pdf", b"%PDF-1.4 essai"), ("technique/memoire.txt", b"memoire " * 50)])
make("doublons", [("offre.pdf", b"un"), ("offre.pdf", b"deux")])
make("casse", [("Offre.pdf", b"un"), ("offre.pdf", b"deux"), ("offre (2).pdf", b"trois"),
               ("caf\u00e9.txt", b"nfc"), ("cafe\u0301.txt", b"nfd")])
make("remontee", [("../hors.txt", b"x"), ("a/../../hors2.txt", b"y"), ("a/./b.txt", b"z")])
make("absolu", [("/tmp/paraphe-fuzz-absolu.txt", b"x"), ("C:\\hors.txt", b"y")])
make("bombe", [("zeros.bin", bytes(4 * 1024 * 1024))])
make("presque-bombe", [("zeros.bin", bytes(512 * 1024))])
make("dossiers", [("dossier/", b""), ("dossier/sous/", b""), ("dossier/sous/f.txt", b"f"),
                  ("dossier", b"fichier au nom du dossier"), ("Dossier/g.txt", b"g")])
make("lien", [link, ("lien/apres.txt", b"x")])
make("zip64", [("grand.txt", b"z" * 100)], allowZip64=True)
with zipfile.ZipFile(f"{out}/zip64-force.zip", "w") as z:
    with z.open("f.txt", "w", force_zip64=True) as f:
        f.write(b"zip64")
PY
}
for target in pes_reader c14n verifier acquit retour pli actes classification lot zip; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  if [[ $target == pli ]]; then
    seed_bids "$corpus"
  elif [[ $target == lot ]]; then
    seed_lots "$corpus"
  elif [[ $target == zip ]]; then
    seed_zips "$corpus"
  elif [[ $target == classification && -d $SAMPLES ]]; then
    find "$SAMPLES" -iname '*classification*.xml' -size -200k -exec cp -n {} "$corpus/" \;
  elif [[ $target == actes && -d $SAMPLES ]]; then
    find "$SAMPLES" \( -name '*.xml' -o -name '*.tar.gz' -o -name '*.tgz' -o -name '*.zip' \) \
      -path '*actes*' -size -200k -exec cp -n {} "$corpus/" \;
  elif [[ -d $SAMPLES ]]; then
    find "$SAMPLES" -name '*.xml' -size -200k -exec cp -n {} "$corpus/" \;
  fi
  echo "==> fuzz $target (${SECONDS_PER_TARGET} s)"
  cargo fuzz run --sanitizer none "$target" "$corpus" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -rss_limit_mb=1024 -print_final_stats=1 2>&1 \
    | grep -E "stat::number_of_executed_units|Done|ERROR|panicked|SUMMARY" || true
  if ls fuzz/artifacts/"$target"/crash-* >/dev/null 2>&1; then
    echo "ERREUR : le fuzzing de $target a trouvé un plantage (fuzz/artifacts/$target)." >&2
    exit 1
  fi
done
