#!/usr/bin/env bash
# Builds the Debian package with cargo-deb: the release binary, its man page (help2man, from the
# French --help), the desktop entry, the AppStream metainfo and the icon. Prints the .deb's path
# on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v help2man >/dev/null || { echo "help2man est nécessaire (apt-get install help2man)" >&2; exit 2; }
command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb
cargo build --release --quiet
BIN=target/release/paraphe
# help2man reads its arguments as Latin-1 and the program's output in the locale's encoding.
NAME=$(printf '%s' "télétransmission ACTES et Hélios, signature par carte à puce" | iconv -f utf-8 -t latin1)
LC_ALL=C.UTF-8 help2man --locale=C.UTF-8 --no-info --no-discard-stderr --name "$NAME" \
  --version-string "$("$BIN" --version | awk '{print $2}')" \
  "$BIN" | gzip -9n > target/paraphe.1.gz
cargo deb --no-build --quiet
ls -t target/debian/paraphe_*.deb | head -1
