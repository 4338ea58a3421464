#!/usr/bin/env bash
# The test command (README, CI): installs what a fresh machine lacks, builds/caches the
# Kubernetes test binaries, then runs the format check, clippy and every test.
#
#   hack/test.sh            # everything
#   hack/test.sh -- NAME    # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

# --- tools a fresh machine of this kind may lack -------------------------------------------
need_apt=()
command -v git >/dev/null || need_apt+=(git)
command -v go >/dev/null || need_apt+=(golang-go)
command -v cc >/dev/null || need_apt+=(build-essential)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  fi
fi
command -v cargo >/dev/null || { echo "cargo is required: install Rust (rustup) first" >&2; exit 1; }
if command -v rustup >/dev/null; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

cache=${KARMADACTL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/karmadactl}
# CI clones the repo afresh each run; keeping the target dir in the cache makes warm runs fast.
if [ -n "${CI:-}" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$cache/target"
fi

step "Kubernetes test binaries"
hack/build-test-binaries.sh --with-kwok

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test"
if [ $# -gt 0 ]; then
  export KARMADACTL_FAULT_TESTS=${KARMADACTL_FAULT_TESTS:-1}
  cargo test --locked --all-targets "$@"
else
  # Test binaries several at a time, the longest first; fault tests included.
  hack/run-tests.sh
fi

printf '\n==> all checks passed in %ss\n' "$(( $(date +%s) - started ))"
