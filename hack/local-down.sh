#!/usr/bin/env bash
# Stops what hack/local-up.sh started and removes its state directory. The kubeconfig it wrote
# is deleted only if it holds nothing but local-up's contexts; otherwise it is left alone.
# Idempotent.
#
#   hack/local-down.sh
#
# Environment: LOCAL_UP_DIR, KUBECONFIG_OUT as for local-up.sh; LOCAL_DOWN_TIMEOUT seconds to
# wait after SIGTERM before SIGKILL (default 30).
set -euo pipefail

state_dir=${LOCAL_UP_DIR:-$HOME/.cache/karmadactl/local-up}
kubeconfig_out=${KUBECONFIG_OUT:-$HOME/.kube/karmada.config}
timeout=${LOCAL_DOWN_TIMEOUT:-30}

log() { printf '==> %s\n' "$*" >&2; }

# A live process (zombies count as dead: whoever adopts an orphan may never reap it).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$(echo "${stat##*) }" | cut -d' ' -f1)" != Z ]
}

# Whether pid $1 is alive and its command line mentions $2 (guards against reused pids).
ours() {
  alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# karmada-testbed stops its karmada-reconciler first (SIGTERM, up to 15 s), then the clusters.
pid=$(cat "$state_dir/testbed.pid" 2>/dev/null || true)
if [ -n "$pid" ] && ours "$pid" "--state-dir $state_dir "; then
  log "stopping karmada-testbed (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "still running after ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
else
  log "karmada-testbed is not running"
fi

# Its children die with it (parent-death signal); this catches anything that did not.
if [ -f "$state_dir/pids" ]; then
  while read -r name child; do
    [ "$name" = karmada-testbed ] && continue
    if ours "$child" "$state_dir"; then
      log "killing leftover $name (pid $child)"
      kill -KILL "$child" 2>/dev/null || true
    fi
  done <"$state_dir/pids"
fi

if [ -d "$state_dir" ]; then
  rm -rf "$state_dir"
  log "removed $state_dir"
fi

# Context names in a kubeconfig (the name: of each entry under the top-level contexts: list).
contexts() {
  awk '/^[^ #-]/ { section = $1 } section == "contexts:" && /^(- |  )name:/ { print $NF }' "$1"
}

# True if $1 exists and every context in it is one local-up writes.
only_ours() {
  local names name
  [ -f "$1" ] || return 1
  names=$(contexts "$1")
  [ -n "$names" ] || return 1
  for name in $names; do
    case "$name" in
      karmada-apiserver | member[0-9] | member[0-9][0-9] | member[0-9][0-9][0-9]) ;;
      *) return 1 ;;
    esac
  done
}

if [ -f "$kubeconfig_out" ]; then
  if only_ours "$kubeconfig_out"; then
    rm -f "$kubeconfig_out"
    log "removed $kubeconfig_out"
    # The backup kubeconfig merging keeps is ours too if it holds only our contexts.
    if only_ours "$kubeconfig_out.bak"; then rm -f "$kubeconfig_out.bak"; fi
  else
    log "left $kubeconfig_out alone: it has contexts local-up did not write ($(contexts "$kubeconfig_out" | tr '\n' ' '))"
    log "remove ours with: kubectl --kubeconfig $kubeconfig_out config delete-context <karmada-apiserver|memberN>"
  fi
fi
log "local environment is down"
