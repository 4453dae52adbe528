#!/usr/bin/env bash
# Upload benchmark: a 20 MB act sent to the sandbox over loopback mTLS by Paraphe's S²LOW client
# and by curl (same multipart upload, same client key in a file), in the same run. Prints the
# throughputs and their ratio (target: Paraphe ≥ 0.8× curl). TAILLE_MO and TOURS change the size
# and the number of rounds (best of).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v curl >/dev/null || { echo "curl est nécessaire (apt-get install curl)" >&2; exit 2; }
cargo bench --bench upload   # dev-dependencies (iced_test) need the default features in release
