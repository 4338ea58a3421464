#!/usr/bin/env bash
# Builds the Kubernetes binaries the test bed runs (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd; kwok with --with-kwok) from the Go module proxy into a cache outside the
# repository. Skips whatever is already cached. Prints the bin directory on the last line.
#
#   hack/build-test-binaries.sh [--with-kwok]
#
# Environment: KARMADACTL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/karmadactl).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

with_kwok=false
for arg in "$@"; do
  case "$arg" in
    --with-kwok) with_kwok=true ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

cache=${KARMADACTL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/karmadactl}
bin="$cache/bin/kube-$KUBE_VERSION"
mkdir -p "$bin" "$cache/src"

command -v go >/dev/null || { echo "go is required to build the test binaries (apt-get install golang or use the Go toolchain)" >&2; exit 1; }

log() { printf '==> %s\n' "$*" >&2; }

# A go.mod for a throwaway wrapper module. Kubernetes' own go.mod points every staging module at
# ./staging/..., which only exists in its git tree, so we pin each to its published version.
build_kube() {
  local missing=()
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    [ -x "$bin/$c" ] || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] && { log "kubernetes $KUBE_VERSION: cached"; return; }

  local dir="$cache/src/kubernetes-$KUBE_VERSION" staging_version="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$dir"
  local gomod
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module karmadactl.local/kube-test-binaries"
    echo
    echo "go $(sed -n 's/^go //p' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#replace \1 => \1 '"$staging_version"'#p' "$gomod"
  } > "$dir/go.mod"
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  log "resolving kubernetes $KUBE_VERSION modules"
  (cd "$dir" && go mod tidy -e >/dev/null 2>"$dir/tidy.log" || { cat "$dir/tidy.log" >&2; exit 1; })

  local major minor pkg ldflags=""
  major=1; minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  for c in "${missing[@]}"; do
    log "building $c $KUBE_VERSION (several minutes on a cold cache)"
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -tags selinux,notest -ldflags "-s -w $ldflags" \
      -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$bin/$c.tmp" "$bin/$c"
  done
}

# etcd's server module also carries replace directives; a tiny main around etcdmain avoids them.
build_etcd() {
  [ -x "$bin/etcd" ] && { log "etcd $ETCD_VERSION: cached"; return; }
  local dir="$cache/src/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat > "$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && [ -f go.mod ] || go mod init karmadactl.local/etcd >/dev/null 2>&1)
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1 \
    && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" .)
  mv "$bin/etcd.tmp" "$bin/etcd"
}

build_kwok() {
  [ -x "$bin/kwok" ] && { log "kwok $KWOK_VERSION: cached"; return; }
  log "building kwok $KWOK_VERSION"
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

build_etcd
build_kube
$with_kwok && build_kwok
echo "$bin"
