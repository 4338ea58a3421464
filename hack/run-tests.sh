#!/usr/bin/env bash
# Runs every test target, several at a time, the longest first; called by hack/test.sh.
#
# `cargo test --all-targets` runs one test binary after the other, and most of them spend their
# time waiting on apiservers and reconcilers (grace periods, convergence) with a CPU idle. Here
# the binaries cargo built run as jobs (KARMADACTL_TEST_JOBS at once, default 2), those that
# take longest first, so the long ones do not end up last; tests/faults.rs is one job
# (its tests take turns through a lock). A job's output is printed whole when it ends,
# then a table of every job's wall time. Exit status 1 if any job failed.
#
#   hack/run-tests.sh                # what hack/test.sh runs
#   KARMADACTL_TEST_JOBS=1 hack/run-tests.sh   # one at a time, as cargo would
#   hack/run-tests.sh cli crds       # only these targets
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs_max=${KARMADACTL_TEST_JOBS:-2}

# Longest first (measured on the 2-vCPU CI machine; see docs/performance.md "Test times").
# "name" is the target name as in `cargo test --test name`; a target not listed runs after
# these, in cargo's order. Arguments after the name go to the test binary.
plan=(
  # One job: its tests take turns through a lock in the process (two processes would run the
  # hung-member and SIGKILL propagations at once, and their 240 s limits fail on 2 vCPUs);
  # --test-threads=6 lets the member-outage test release the lock while its member is down.
  "faults --test-threads=6"
  "federation"
  "semantics"
  "failover"
  "cluster_scoped"
  "init"
  "join_unjoin"
  "security"
  "ownership"
  "kubectl_commands"
  "cluster_commands"
  "reconciler_process"
  "testbed"
  "pull_mode"
  "why_apply_promote"
  "examples"
  "crd_validation"
  "cluster_health"
  "propagation"
  "interpreter"
)

build_log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$work" "$build_log"' EXIT
cargo test --locked --all-targets --no-run 2>&1 | tee "$build_log"

# "  Executable tests/faults.rs (/path/faults-hash)" → "faults /path/faults-hash";
# "unittests src/lib.rs" → "lib"; bins and benches by their file name.
declare -A exe=()
order=()
while read -r source path; do
  case $source in
    tests/*.rs) name=${source#tests/}; name=${name%.rs} ;;
    src/lib.rs) name=lib ;;
    *) name=${source//\//-} ;;
  esac
  exe[$name]=$path
  order+=("$name")
done < <(sed -n 's/^ *Executable \(unittests \)\{0,1\}\([^ ]*\) (\(.*\))$/\2 \3/p' "$build_log")

jobs_list=()
declare -A planned=()
for entry in "${plan[@]}"; do
  name=${entry%% *}
  [ -n "${exe[$name]:-}" ] || continue
  jobs_list+=("$entry")
  planned[$name]=1
done
for name in "${order[@]}"; do
  [ -n "${planned[$name]:-}" ] || jobs_list+=("$name")
done
if [ $# -gt 0 ]; then
  only=()
  for entry in "${jobs_list[@]}"; do
    printf '%s\n' "$@" | grep -qx "${entry%% *}" && only+=("$entry")
  done
  jobs_list=("${only[@]}")
fi

declare -A started=() label=()
failed=()
summary=()

finish() { # pid status
  local id=${label[$1]}
  local secs=$(($(date +%s) - started[$1]))
  printf '\n==> %s (%ss, exit %s)\n' "${jobs_list[$id]}" "$secs" "$2"
  cat "$work/$id.log"
  summary+=("$(printf '%6ss  %s%s' "$secs" "${jobs_list[$id]}" "$([ "$2" = 0 ] || echo '  FAILED')")")
  [ "$2" = 0 ] || failed+=("${jobs_list[$id]}")
}

reap() { # waits for one job to end
  local pid status=0
  wait -n -p pid "${!label[@]}" || status=$?
  finish "$pid" "$status"
  unset "label[$pid]"
}

for id in "${!jobs_list[@]}"; do
  while [ "${#label[@]}" -ge "$jobs_max" ]; do reap; done
  read -r name args <<<"${jobs_list[$id]}"
  faults=0
  [ "$name" = faults ] && faults=1
  # shellcheck disable=SC2086 # args are test filters, split on purpose
  KARMADACTL_FAULT_TESTS=$faults "${exe[$name]}" $args >"$work/$id.log" 2>&1 &
  started[$!]=$(date +%s)
  label[$!]=$id
done
while [ "${#label[@]}" -gt 0 ]; do reap; done

printf '\n==> test jobs (%s at a time), wall time each\n' "$jobs_max"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  printf '==> failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
