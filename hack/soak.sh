#!/usr/bin/env bash
# Churn soak (docs/performance.md): creates, updates and deletes templates and policies and
# cordons/uncordons members at a steady rate against a release-mode reconciler on the test bed,
# then checks the invariants and reports whether the reconciler's RSS grows. Exits non-zero on
# a broken invariant.
#
#   hack/soak.sh [--members M] [--json PATH]
#
# Environment: SOAK_SECS (default 150), SOAK_RATE operations/s (default 5), SOAK_SEED (replay).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hack/build-test-binaries.sh >/dev/null
export SOAK_SECS=${SOAK_SECS:-150}
exec cargo bench --locked --bench soak -- "$@"
