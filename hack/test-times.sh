#!/usr/bin/env bash
# Where hack/test.sh spends its time: runs each test target alone, one after the other, and
# prints its wall time, the CPU seconds it and its children (apiservers, etcd, reconcilers)
# used, the load average it ran under, and each test's own time.
#
#   hack/test-times.sh                 # every test target, fault tests included
#   hack/test-times.sh faults semantics  # only these targets (names as in `cargo test --test`)
#
# CPU seconds are the figure to compare between runs on a shared machine: wall time depends on
# what else runs, CPU time much less. Per-test times come from libtest's --report-time, an
# unstable option enabled here with RUSTC_BOOTSTRAP=1 (measurement only; CI does not use it).
# Output: a table on stdout, each target's full output in $OUT (default target/test-times/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target_dir=${CARGO_TARGET_DIR:-target}
out=${OUT:-$target_dir/test-times}
mkdir -p "$out"

cargo test --locked --all-targets --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and (
            m["profile"]["test"] or "bench" in m["target"]["kind"]):
        print(m["target"]["kind"][0], m["target"]["name"], m["executable"])
' | sort -k2 >"$out/targets.txt"

printf '%-28s %8s %8s %6s  %s\n' target wall_s cpu_s load "slowest tests"
while read -r kind name exe; do
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  log="$out/$kind-$name.log"
  load=$(cut -d' ' -f1 /proc/loadavg)
  threads=()
  # As hack/test.sh runs them.
  [ "$name" = faults ] && threads=(--test-threads=6)
  status=0
  KARMADACTL_FAULT_TESTS=$([ "$name" = faults ] && echo 1 || echo 0) RUSTC_BOOTSTRAP=1 \
    /usr/bin/time -f '%e %U %S' -o "$out/$kind-$name.time" \
    "$exe" -Z unstable-options --report-time "${threads[@]}" >"$log" 2>&1 || status=$?
  read -r wall user sys < <(tail -1 "$out/$kind-$name.time")
  slowest=$(grep -oE '^test .* <[0-9.]+s>$' "$log" |
    sed -E 's/^test (.*) \.\.\. .* <([0-9.]+)s>$/\2 \1/' | sort -rn | head -3 |
    awk '{printf "%s %.0fs; ", $2, $1}' || true)
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.0f", u+s}')
  [ "$status" = 0 ] || slowest="FAILED (exit $status, see $log) $slowest"
  printf '%-28s %8.0f %8s %6s  %s\n' "$kind:$name" "$wall" "$cpu" "$load" "$slowest"
done <"$out/targets.txt"
