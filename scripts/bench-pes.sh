#!/usr/bin/env bash
# Hélios benchmark: Paraphe against xmlsec1 / xmllint on the same generated PES (~100 MB, 200
# bordereaux, embedded PJ), on this machine, in this run. Prints times, peak memory and ratios.
#   scripts/bench-pes.sh [SIZE_MB] [BORDEREAUX]
# Targets (issue "Hélios PES V2"): per-bordereau signing ≤ 0.2× xmlsec1 --sign (one global
# signature); Paraphe --global ≤ 0.3×; verifying all ≤ 0.2× xmlsec1 --verify of one;
# pes controler ≤ 1.0× xmllint --stream --schema; Paraphe's peak memory < 64 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-100}
BORD=${2:-200}
# The schema Paraphe ships (the DGFiP 5.12 set), the one `pes controler` uses by default.
XSD=${PES_XSD:-assets/schemas/pes_v5.12/PES_V2/Rev0/PES_Aller.xsd}
for tool in xmlsec1 xmllint softhsm2-util pkcs11-tool openssl python3; do
  command -v "$tool" >/dev/null || { echo "outil manquant : $tool (lancez scripts/test.sh)" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { apt-get install -y -qq time >/dev/null || sudo apt-get install -y -qq time >/dev/null; }

cargo build --release --no-default-features --features cli --quiet
BIN=$PWD/target/release/paraphe
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
python3 scripts/gen-pes.py "$W/pes.xml" "$BORD" "$SIZE"
echo "Fichier : $(du -m "$W/pes.xml" | cut -f1) Mo, $BORD bordereaux"

# Test-only key and certificate, in a file (for xmlsec1) and on a SoftHSM token (for Paraphe).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" -days 30 \
  -subj "/CN=Banc d'essai TEST ONLY/O=Paraphe TEST ONLY" -addext "keyUsage=critical,nonRepudiation" -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$W/key.pem" -outform DER -out "$W/key.der"
openssl x509 -in "$W/cert.pem" -outform DER -out "$W/cert.der"
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > "$W/softhsm2.conf"
export SOFTHSM2_CONF=$W/softhsm2.conf
MODULE=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
softhsm2-util --init-token --free --label BANC --pin 1234 --so-pin 12345678 >/dev/null
pkcs11-tool --module "$MODULE" --token-label BANC --login --pin 1234 --write-object "$W/key.der" --type privkey --id 01 --label sig >/dev/null
pkcs11-tool --module "$MODULE" --token-label BANC --login --pin 1234 --write-object "$W/cert.der" --type cert --id 01 --label sig >/dev/null
export PARAPHE_CONFIG=$W/absent.toml PARAPHE_DONNEES=$W/donnees

# xmlsec1 template: one global enveloped signature, the same work as Paraphe's --global.
python3 - "$W/pes.xml" "$W/tmpl.xml" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
tmpl = (b'<ds:Signature Id="SIG"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        b'<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#PESBENCH">'
        b'<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
        b'<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>'
        b'<ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>')
end = data.rindex(b"</n:PES_Aller>")
open(sys.argv[2], "wb").write(data[:end] + tmpl + data[end:])
PY

# run NAME COMMAND… : best of 5 wall-clock seconds and the peak RSS (MB) of that run (on a shared
# virtual machine one run in three can come out 20 % slow for reasons of its own; 3 runs were not
# always enough to see the real figure, for the baselines as for Paraphe). Dirty pages left by the
# previous runs (xmlsec1 does not sync its 100 MB outputs) are flushed first, untimed: otherwise
# the kernel's writeback takes a core in the middle of whichever run follows. A signing run
# writes a new file each time: with OUTPUT set, that file is removed first, untimed (else
# replacing the previous run's 100 MB output makes ext4 free it inside the timed run — 15–20 ms,
# in Paraphe's final rename as in xmlsec1's truncation).
declare -A SECS MEM
run() {
  local name=$1; shift
  local best="" best_mem=""
  for _ in 1 2 3 4 5; do
    if [[ -n "${OUTPUT:-}" ]]; then rm -f "$OUTPUT"; fi
    sync
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { echo "échec : $name" >&2; cat "$W/err" >&2; exit 1; }
    read -r s kb < "$W/time"
    if [[ -z "$best" ]] || awk "BEGIN{exit !($s < $best)}"; then best=$s; best_mem=$((kb / 1024)); fi
  done
  SECS[$name]=$best; MEM[$name]=$best_mem
  printf '  %-34s %7.2f s  %5d Mo\n' "$name" "$best" "$best_mem"
}
ratio() { awk "BEGIN{printf \"%.3f\", ${SECS[$1]} / ${SECS[$2]}}"; }

SIGN=(pes signer "$W/pes.xml" --role Ordonnateur --ville Montpellier --code-postal 34000 --module "$MODULE" --jeton BANC --cle-id 01 --pin-stdin)
echo "Mesures (meilleure de 5) :"
OUTPUT=$W/xmlsec-signe.xml run "xmlsec1 --sign (1 globale)" xmlsec1 --sign --privkey-pem "$W/key.pem,$W/cert.pem" --id-attr:Id PES_Aller --output "$W/xmlsec-signe.xml" "$W/tmpl.xml"
OUTPUT=$W/paraphe-signe.xml run "paraphe pes signer (bordereaux)" bash -c "echo 1234 | $BIN ${SIGN[*]} -o $W/paraphe-signe.xml"
OUTPUT=$W/paraphe-global.xml run "paraphe pes signer --global" bash -c "echo 1234 | $BIN ${SIGN[*]} --global -o $W/paraphe-global.xml"
run "xmlsec1 --verify (1 signature)" xmlsec1 --verify --insecure --id-attr:Id PES_Aller "$W/xmlsec-signe.xml"
run "paraphe pes verifier (toutes)" "$BIN" pes verifier --confiance "$W/cert.pem" --json "$W/paraphe-signe.xml"
run "xmllint --stream --schema" xmllint --noout --stream --schema "$XSD" "$W/pes.xml"
run "paraphe pes controler" "$BIN" pes controler --schema "$XSD" "$W/pes.xml"

# The verifier must have found every signature intact (else the timing means nothing).
"$BIN" pes verifier --confiance "$W/cert.pem" --json "$W/paraphe-signe.xml" | python3 -c "import json,sys; d=json.load(sys.stdin); n=sum(s['integrite'] for s in d['signatures']); print(f'  vérification : {n}/{len(d[\"signatures\"])} signatures intactes')"

echo "Rapports (cible) :"
echo "  signature par bordereau / xmlsec1 --sign : $(ratio 'paraphe pes signer (bordereaux)' 'xmlsec1 --sign (1 globale)')  (≤ 0.2)"
echo "  signature globale / xmlsec1 --sign       : $(ratio 'paraphe pes signer --global' 'xmlsec1 --sign (1 globale)')  (≤ 0.3)"
echo "  vérification / xmlsec1 --verify          : $(ratio 'paraphe pes verifier (toutes)' 'xmlsec1 --verify (1 signature)')  (≤ 0.2)"
echo "  pes controler / xmllint --stream         : $(ratio 'paraphe pes controler' 'xmllint --stream --schema')  (≤ 1.0)"
maxmem=0; for k in "paraphe pes signer (bordereaux)" "paraphe pes signer --global" "paraphe pes verifier (toutes)" "paraphe pes controler"; do
  (( MEM[$k] > maxmem )) && maxmem=${MEM[$k]}
done
echo "  mémoire maximale de Paraphe : $maxmem Mo (< 64) ; xmlsec1 : ${MEM['xmlsec1 --sign (1 globale)']} Mo"
