#!/usr/bin/env bash
# Outbox benchmark: listing 10,000 items (target: under 20 ms for the query, figures printed,
# not asserted), against Python's sqlite3 reading the same rows from the same file as baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release --no-default-features --features cli --quiet
BIN=$PWD/target/release/paraphe
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export PARAPHE_DONNEES=$W PARAPHE_CONFIG=$W/absent.toml
"$BIN" envois lister >/dev/null   # creates the outbox with Paraphe's own schema
python3 - "$W/envois.sqlite" "$N" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
states = ["prepare", "signe", "en_attente", "envoye", "acquitte", "refuse"]
db.executemany("INSERT INTO items (genre, libelle, etat, cree_le, modifie_le, siren, numero_interne) VALUES (?,?,?,?,?,?,?)",
    [("acte" if i % 3 else "pes", f"Acte n°{i} — objet de démonstration", states[i % 6],
      f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00Z", f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
      "210600730", f"N{i}") for i in range(n)])
db.commit()
PY
best() { local b=""; for _ in 1 2 3 4 5; do
  local s=$(date +%s%N); "$@" >/dev/null; local e=$(( ($(date +%s%N) - s) / 1000 ));
  [[ -z "$b" || $e -lt $b ]] && b=$e; done; echo "$b"; }
p=$(best "$BIN" envois lister --limite "$N" --json)
q=$(best python3 -c "import sqlite3,json,sys; db=sqlite3.connect('$W/envois.sqlite'); print(json.dumps(db.execute('SELECT id, genre, libelle, etat, cree_le, modifie_le, lot_id, siren, numero_interne, id_plateforme FROM items ORDER BY modifie_le DESC, id DESC LIMIT $N').fetchall()))")
e=$(best "$BIN" --version)
echo "Lister $N envois (processus entier, meilleure de 5) :"
echo "  paraphe envois lister --json : $((p / 1000)) ms (dont démarrage du programme : $((e / 1000)) ms)"
echo "  python3 sqlite3 + json       : $((q / 1000)) ms"
awk "BEGIN{printf \"  rapport Paraphe / python : %.2f ; requête seule estimée : %d ms (cible < 20 ms)\n\", $p/$q, ($p-$e)/1000}"
echo
# The query alone, in process, against Python's sqlite3 on the same file.
cargo bench --quiet --bench outbox   # default features: dev-dependencies need them in release
