#!/usr/bin/env bash
# Runs every Paraphe test. On a fresh Debian/Ubuntu machine it first installs what the tests need:
# Debian packages (real PKCS#11 modules, independent verifiers) and Python packages (pyHanko) in a
# virtual environment under .venv. `.ci/run` calls this script; with CI set, a missing tool fails.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  softhsm2 opensc gnutls-bin opencryptoki   # PKCS#11 modules and their tools
  openssl xmlsec1 libxml2-utils poppler-utils qpdf curl  # independent verifiers, test PDFs, TLS client
  python3-venv pkg-config perl make gcc        # pyHanko's venv; vendored OpenSSL build
  help2man dpkg-dev                            # the .deb: man page, shared-library dependencies
  time                                         # peak memory of a command (hostile inputs)
)
# Commands that prove each package is there (package → command).
declare -A PROBE=(
  [softhsm2]=softhsm2-util [opensc]=pkcs11-tool [gnutls-bin]=p11tool [opencryptoki]=pkcsconf
  [openssl]=openssl [xmlsec1]=xmlsec1 [libxml2-utils]=xmllint [poppler-utils]=pdfsig [qpdf]=qpdf [curl]=curl
  [pkg-config]=pkg-config [perl]=perl [make]=make [gcc]=gcc [help2man]=help2man
  [dpkg-dev]=dpkg-shlibdeps [time]=/usr/bin/time
)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  if [[ -n "${PROBE[$pkg]:-}" ]]; then
    command -v "${PROBE[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
  else
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "==> Installation des paquets Debian manquants : ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# pyHanko (PAdES validation) in a private virtual environment.
if [[ ! -x .venv/bin/pyhanko ]] || ! .venv/bin/python -c "import lxml" 2>/dev/null; then
  echo "==> Installation de pyHanko dans .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "pyHanko[opentype]>=0.25" "pyhanko-certvalidator" pyhanko-cli lxml
fi
export PATH="$PWD/.venv/bin:$PATH"

echo "==> Outils présents"
for tool in softhsm2-util pkcs11-tool pkcsconf pkcsslotd openssl xmlsec1 xmllint pdfsig pyhanko; do
  if command -v "$tool" >/dev/null 2>&1; then
    echo "    $tool : $(command -v "$tool")"
  elif [[ -n "${CI:-}" ]]; then
    echo "ERREUR : l'outil $tool est absent (CI)." >&2
    exit 1
  else
    echo "    $tool : ABSENT — les tests qui en ont besoin seront sautés (hors CI)." >&2
  fi
done

echo "==> Formatage"
cargo fmt --all -- --check

echo "==> Module PKCS#11 de test (proxy)"
cargo build -p paraphe-p11-proxy

# Each test target runs on its own with a time limit: a test that hangs fails the run with its name
# and the stacks of its threads (gdb, when present), instead of eating the whole CI budget.
TEST_LIMIT="${PARAPHE_TEST_LIMIT:-900}"

descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

run_limited() {
  local label=$1
  shift
  local started=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - started > TEST_LIMIT)); then
      echo "ERREUR : « $label » tourne depuis plus de ${TEST_LIMIT} s ; processus encore en vie :" >&2
      local p
      for p in $(descendants "$pid"); do
        ps -o pid=,etimes=,args= -p "$p" >&2 || true
        if command -v gdb >/dev/null 2>&1; then
          timeout 60 gdb -q -batch -p "$p" -ex "thread apply all bt 30" 2>&1 | grep -E "^(Thread|#)" >&2 || true
        fi
      done
      kill -- $(descendants "$pid") "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 124
    fi
    sleep 2
  done
  wait "$pid"
}

echo "==> Construction des tests"
cargo test --workspace --all-targets --no-run

echo "==> Tests (limite : ${TEST_LIMIT} s par cible)"
run_limited "tests unitaires" cargo test --workspace --lib --bins --benches --examples
# --workspace keeps the features of a whole-workspace build: nothing is compiled twice.
for target in tests/*.rs pkcs11-mocks/tests/*.rs; do
  name=$(basename "$target" .rs)
  serial=()
  # The sandbox's tests each start workstations (separate processes) that log in to one shared
  # SoftHSM token; SoftHSM keeps a token in files that a login rewrites, and another process
  # reading them at that moment sees the token missing or broken (« carte non détectée »,
  # C_GetTokenInfo : GeneralError — seen twice in CI). One test at a time (13 s).
  if [[ "$name" == platform_sandbox ]]; then serial=(-- --test-threads=1); fi
  run_limited "$target" cargo test --workspace --test "$name" "${serial[@]}"
done

echo "==> Clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> Fuzzing court (quelques secondes par cible ; campagne longue : scripts/fuzz.sh 3600)"
scripts/fuzz.sh "${PARAPHE_FUZZ_SECONDS:-5}"

if [[ -n "${CI:-}" ]]; then
  echo "==> Paquet Debian : construction, installation, lancement depuis /usr/bin"
  deb=$(scripts/package-deb.sh | tail -1)
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO dpkg -i "$deb" || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -f; }
  /usr/bin/paraphe --version
  test -f /usr/share/man/man1/paraphe.1.gz
  test -f /usr/share/applications/paraphe.desktop
fi

echo "==> Tout est vert."
