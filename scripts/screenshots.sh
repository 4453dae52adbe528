#!/usr/bin/env bash
# Start Paraphe under Xvfb on each screen with demo data (test-only certificate on a SoftHSM token,
# a generated PES, a few outbox items) and write one PNG per screen into ${1:-target/captures}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/captures}
mkdir -p "$OUT"
for tool in xvfb-run import softhsm2-util pkcs11-tool openssl python3; do
  command -v "$tool" >/dev/null || { echo "outil manquant : $tool (apt-get install xvfb imagemagick softhsm2 opensc)" >&2; exit 1; }
done
cargo build --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/debug/paraphe
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

# Test-only signature certificate on a SoftHSM token.
openssl req -utf8 -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" -days 40 \
  -subj "/CN=Camille Démo (TEST ONLY)/O=Mairie de Démonstration" \
  -addext "keyUsage=critical,nonRepudiation" -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$W/key.pem" -outform DER -out "$W/key.der"
openssl x509 -in "$W/cert.pem" -outform DER -out "$W/cert.der"
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > "$W/softhsm2.conf"
export SOFTHSM2_CONF=$W/softhsm2.conf
MODULE=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
softhsm2-util --init-token --free --label "CLE MAIRIE" --pin 1234 --so-pin 12345678 >/dev/null
pkcs11-tool --module "$MODULE" --token-label "CLE MAIRIE" --login --pin 1234 --write-object "$W/key.der" --type privkey --id 01 --label sig >/dev/null
pkcs11-tool --module "$MODULE" --token-label "CLE MAIRIE" --login --pin 1234 --write-object "$W/cert.der" --type cert --id 01 --label sig >/dev/null

export PARAPHE_DONNEES=$W/donnees PARAPHE_CONFIG=$W/paraphe.toml
printf '[carte]\nmodule = "%s"\n' "$MODULE" > "$PARAPHE_CONFIG"
# A secrétaire of two communes: the sidebar shows which one the window works for.
cat >> "$PARAPHE_CONFIG" <<'TOML'
[collectivite]
nom = "Commune de Fontvieille"
siren = "211300397"
departement = "13"
arrondissement = "1"
nature = "31"

[[collectivites]]
nom = "Commune de Paradou"
siren = "211300686"
departement = "13"
arrondissement = "1"
nature = "31"
TOML
python3 scripts/gen-pes.py "$W/demo.xml" 12 1
# Demo outbox: create it through Paraphe, then add a few rows.
"$BIN" envois lister >/dev/null
python3 - "$PARAPHE_DONNEES/envois.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# (genre, libellé, état, numéro interne, transaction sur la plateforme): what the sender leaves;
# the last PES is one the platform already held (« doublon détecté »), to attach by hand.
rows = [("acte", "Délibération — budget primitif 2027", "prepare", "DEL2026_41", None),
        ("acte", "Arrêté de voirie rue des Écoles", "en_attente", "ARR2026_118", None),
        ("pes", "PES dépenses novembre (12 bordereaux)", "envoye", None, "48213"),
        ("acte", "Convention de mise à disposition", "acquitte", "CONV2026_7", "013-211300397-20261123-CONV2026_7-CC"),
        ("pes", "PES recettes octobre", "refuse", None, "47002"),
        ("pes", "PES dépenses décembre (renvoyé)", "envoye", None, None)]
for i, (genre, libelle, etat, numero, transaction) in enumerate(rows):
    db.execute("INSERT INTO items (genre, libelle, etat, cree_le, modifie_le, siren, numero_interne, id_plateforme) VALUES (?,?,?,?,?,?,?,?)",
               (genre, libelle, etat, f"2026-11-2{i}T10:00:00Z", f"2026-11-2{i}T10:00:00Z", ("211300397" if i % 3 else "211300686"), numero, transaction))
db.commit()
PY

for screen in accueil actes helios envois marches dce certificats parametres aide; do
  # A busy machine may not have drawn the first frame yet: wait longer and try again when the
  # picture is still blank (a few hundred bytes).
  for wait in 6 12 20; do
    PARAPHE_ECRAN=$screen PARAPHE_PES=$W/demo.xml xvfb-run -a -s "-screen 0 1280x800x24" \
      bash -c "\"$BIN\" & pid=\$!; sleep $wait; import -window root \"$OUT/$screen.png\"; kill \$pid" >/dev/null 2>&1 || true
    [[ -f $OUT/$screen.png && $(stat -c %s "$OUT/$screen.png") -gt 2000 ]] && break
  done
  echo "$OUT/$screen.png"
done
