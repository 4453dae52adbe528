#!/usr/bin/env bash
# Fuzz the parsers that read untrusted files: PES reader + checks, C14N, signature verifier,
# PES_Acquit reader. Seeds come from ../shared/conformance (copied into fuzz/corpus, not committed).
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (test.sh runs it for a few seconds; for a real
#   campaign run e.g. `scripts/fuzz.sh 3600`, and keep fuzz/corpus between runs)
# cargo fuzz wants nightly flags: the one stable toolchain here accepts them with RUSTC_BOOTSTRAP.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-5}
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
SAMPLES=../shared/conformance
for target in pes_reader c14n verifier acquit; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  if [[ -d $SAMPLES ]]; then
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
