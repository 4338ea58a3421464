#!/usr/bin/env bash
# Starts a local multi-cluster environment on real kube-apiservers (no Docker, no kind): a
# control plane (context karmada-apiserver) and MEMBERS member clusters (member1..N), run by
# karmada-testbed in the background. Idempotent: when it is already up, prints how to use it.
# Stop it with hack/local-down.sh.
#
#   hack/local-up.sh
#
# Environment:
#   MEMBERS           number of member clusters (default 2)
#   LOCAL_UP_DIR      state directory: certificates, etcd data, logs (default ~/.cache/karmadactl/local-up)
#   KUBECONFIG_OUT    kubeconfig the contexts are merged into (default ~/.kube/karmada.config)
#   LOCAL_UP_TIMEOUT  seconds to wait for the clusters (default 300)
#   RECONCILER_PORT   karmada-reconciler's /healthz, /readyz and /metrics port (default 10358)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${LOCAL_UP_DIR:-$HOME/.cache/karmadactl/local-up}
members=${MEMBERS:-2}
kubeconfig_out=${KUBECONFIG_OUT:-$HOME/.kube/karmada.config}
timeout=${LOCAL_UP_TIMEOUT:-300}

log() { printf '==> %s\n' "$*" >&2; }

# A live process (zombies count as dead: whoever adopts an orphan may never reap it).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$(echo "${stat##*) }" | cut -d' ' -f1)" != Z ]
}

# Prints the pid of the karmada-testbed this state dir belongs to, if it runs.
running_pid() {
  local pid
  pid=$(cat "$state_dir/testbed.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--state-dir $state_dir " || return 1
  echo "$pid"
}

# karmada-testbed runs karmada-reconciler (--install-crds: the same code path `karmadactl init`
# uses to install the Karmada API) through the launcher tests and benches use; wait for it.
wait_for_reconciler() {
  local start=$SECONDS
  until grep -q "starting controllers" "$state_dir/reconciler.log" 2>/dev/null; do
    if ! grep -q '^karmada-reconciler ' "$state_dir/pids" 2>/dev/null || grep -q "karmada-reconciler exited" "$state_dir/testbed.log" 2>/dev/null; then
      if ((SECONDS - start >= 5)); then
        log "karmada-reconciler is not running; last lines of $state_dir/reconciler.log:"
        tail -n 30 "$state_dir/reconciler.log" >&2 || true
        log "restart the environment: hack/local-down.sh && hack/local-up.sh"
        exit 1
      fi
    fi
    if ((SECONDS - start >= 120)); then
      log "karmada-reconciler did not start within 120s; see $state_dir/reconciler.log"
      exit 1
    fi
    sleep 0.5
  done
  log "CRDs installed; karmada-reconciler running (pid $(sed -n 's/^karmada-reconciler //p' "$state_dir/pids"))"
}

print_usage() {
  cat <<EOF

Local environment is up: karmada-apiserver (CRDs installed, karmada-reconciler running) and
$members member cluster(s), not joined yet. State and logs: $state_dir

  export KUBECONFIG=$kubeconfig_out
  karmadactl join member1 --cluster-kubeconfig=$kubeconfig_out
  karmadactl get clusters
  kubectl --context karmada-apiserver apply -f docs/examples/nginx.yaml
  kubectl --context member1 get deploy

(karmadactl is in $(cd "$root" && cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/.)

Stop it with hack/local-down.sh
EOF
}

case "$members" in
  ''|*[!0-9]*) echo "MEMBERS must be a number, got '$members'" >&2; exit 2 ;;
esac

if pid=$(running_pid); then
  if [ -f "$state_dir/ready" ]; then
    log "already running (pid $pid)"
    wait_for_reconciler
    print_usage
    exit 0
  fi
  log "already starting (pid $pid); waiting for it"
else
  # Prints its bin dir on stdout; progress goes to stderr.
  "$root/hack/build-test-binaries.sh" >/dev/null
  log "building karmada-testbed, karmadactl and karmada-reconciler"
  (cd "$root" && cargo build --bin karmada-testbed --bin karmadactl --bin karmada-reconciler)
  target_dir=$(cd "$root" && cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

  # A stale state dir (crashed run) holds etcd data that no longer matches fresh certificates.
  rm -rf "$state_dir"
  mkdir -p "$state_dir"
  log "starting karmada-testbed (log: $state_dir/testbed.log)"
  # setsid: detached from this terminal, so a later Ctrl-C elsewhere does not reach it.
  setsid nohup "$target_dir/debug/karmada-testbed" up \
    --state-dir "$state_dir" --members "$members" --kubeconfig-out "$kubeconfig_out" \
    --reconciler "$target_dir/debug/karmada-reconciler" --reconciler-port "${RECONCILER_PORT:-10358}" \
    >"$state_dir/testbed.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$state_dir/testbed.pid"
fi

start=$SECONDS
while [ ! -f "$state_dir/ready" ]; do
  if ! alive "$pid"; then
    printf '\n' >&2
    log "karmada-testbed exited; last lines of $state_dir/testbed.log:"
    tail -n 30 "$state_dir/testbed.log" >&2
    exit 1
  fi
  if ((SECONDS - start >= timeout)); then
    printf '\n' >&2
    log "not ready after ${timeout}s; stopping it. Last lines of $state_dir/testbed.log:"
    tail -n 30 "$state_dir/testbed.log" >&2
    kill -TERM "$pid" 2>/dev/null || true
    exit 1
  fi
  printf '\r==> waiting for the clusters (%ds)' "$((SECONDS - start))" >&2
  sleep 1
done
printf '\r==> clusters ready after %ds    \n' "$((SECONDS - start))" >&2

wait_for_reconciler
print_usage
