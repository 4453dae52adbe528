#!/usr/bin/env bash
# Opening a bid: Paraphe (content key unwrapped on a SoftHSM token, content decrypted on the
# workstation, streamed) against `openssl cms -decrypt` with the same key in a file, on the same
# generated bid (~200 MB, AES-256-CBC, DER), on this machine, in this run. Prints times, peak
# memory and the ratio. Target (issue "Marchés publics"): ≤ 1.2× openssl, memory bounded.
#   scripts/bench-marches.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-200}
for tool in softhsm2-util pkcs11-tool openssl; do
  command -v "$tool" >/dev/null || { echo "outil manquant : $tool (lancez scripts/test.sh)" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { apt-get install -y -qq time >/dev/null || sudo apt-get install -y -qq time >/dev/null; }

cargo build --release --no-default-features --features cli --quiet
BIN=$PWD/target/release/paraphe
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

# Test-only encryption key and certificate, in a file (for openssl) and on a SoftHSM token.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" -days 30 \
  -subj "/CN=Acheteur banc d'essai TEST ONLY/O=Paraphe TEST ONLY" \
  -addext "keyUsage=critical,keyEncipherment" -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$W/key.pem" -outform DER -out "$W/key.der"
openssl x509 -in "$W/cert.pem" -outform DER -out "$W/cert.der"
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > "$W/softhsm2.conf"
export SOFTHSM2_CONF=$W/softhsm2.conf
MODULE=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
softhsm2-util --init-token --free --label BANC --pin 1234 --so-pin 12345678 >/dev/null
pkcs11-tool --module "$MODULE" --token-label BANC --login --pin 1234 --write-object "$W/key.der" --type privkey --id 01 --label chiffrement >/dev/null
pkcs11-tool --module "$MODULE" --token-label BANC --login --pin 1234 --write-object "$W/cert.der" --type cert --id 01 --label chiffrement >/dev/null
export PARAPHE_CONFIG=$W/absent.toml PARAPHE_DONNEES=$W/donnees

head -c "$((SIZE * 1024 * 1024))" /dev/urandom > "$W/offre.pdf"
openssl cms -encrypt -binary -aes-256-cbc -outform DER -in "$W/offre.pdf" -out "$W/offre.pdf.p7m" "$W/cert.pem"
echo "Pli : $(du -m "$W/offre.pdf.p7m" | cut -f1) Mo (AES-256-CBC, DER)"

# run NAME COMMAND… : best of 3 wall-clock seconds and the peak RSS (MB) of that run.
declare -A SECS MEM
run() {
  local name=$1; shift
  local best="" best_mem=""
  for _ in 1 2 3; do
    rm -rf "$W/sortie" "$W/clair.pdf"
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { echo "échec : $name" >&2; cat "$W/err" >&2; exit 1; }
    read -r s kb < "$W/time"
    if [[ -z "$best" ]] || awk "BEGIN{exit !($s < $best)}"; then best=$s; best_mem=$((kb / 1024)); fi
  done
  SECS[$name]=$best; MEM[$name]=$best_mem
  printf '  %-34s %7.2f s  %5d Mo\n' "$name" "$best" "$best_mem"
}

echo "Mesures (meilleure de 3) :"
run "openssl cms -decrypt (clé en fichier)" openssl cms -decrypt -binary -inform DER -in "$W/offre.pdf.p7m" \
  -inkey "$W/key.pem" -recip "$W/cert.pem" -out "$W/clair.pdf"
run "paraphe marches ouvrir (carte)" bash -c "echo 1234 | $BIN marches ouvrir $W/offre.pdf.p7m -o $W/sortie --module $MODULE --jeton BANC --cle-id 01 --pin-stdin"

# The opened bid must be the original (else the timing means nothing).
cmp -s "$W/offre.pdf" "$W/sortie/offre/offre.pdf" && echo "  contenu : identique à l'original" || { echo "contenu différent" >&2; exit 1; }
echo "Rapport (cible) :"
echo "  paraphe / openssl cms -decrypt : $(awk "BEGIN{printf \"%.3f\", ${SECS['paraphe marches ouvrir (carte)']} / ${SECS['openssl cms -decrypt (clé en fichier)']}}")  (≤ 1.2)"
echo "  mémoire de Paraphe : ${MEM['paraphe marches ouvrir (carte)']} Mo ; openssl : ${MEM['openssl cms -decrypt (clé en fichier)']} Mo"
