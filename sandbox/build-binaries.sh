#!/usr/bin/env bash
# Builds the sandbox's real upstream binaries from their Go modules and caches them by content.
#
# Usage: build-binaries.sh [component ...]   (default: all)
# Prints, per component, the directory holding its binaries on the last line "ready <name> <dir>".
# The cache key is the SHA-256 of the component's go.mod, go.sum and sources, so bumping a version
# rebuilds and an unchanged checkout reuses the binaries (a second `sandbox up` takes seconds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Go and the cache need a home; CI environments sometimes run without one.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
cache_root="${ROLLOUT_RELAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollout-relay}/sandbox-bin"
# Argo Rollouts' go.mod asks for a newer Go than the machine's; the module proxy serves this one.
export GOTOOLCHAIN="${ROLLOUT_RELAY_GOTOOLCHAIN:-go1.27.3}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED=0

k8s_version=v1.36.3

declare -A packages=(
  [etcd]="."
  [kwok]="sigs.k8s.io/kwok/cmd/kwok"
  [kubernetes]="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl"
  [argo-rollouts]="github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
  # Argo CD's ApplicationSet controller: built only when a test asks for it (the plugin generator's peer).
  [argocd-appset]="."
  # Nothing to build: the CustomResourceDefinitions of Argo CD and prometheus-operator (assets only).
  [crds]=""
)

ldflags_for() {
  case "$1" in
    kubernetes)
      local v=${k8s_version#v}
      echo "-s -w -X k8s.io/component-base/version.gitVersion=${k8s_version} -X k8s.io/component-base/version.gitMajor=${v%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=${k8s_version} -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z" ;;
    *) echo "-s -w" ;;
  esac
}

# Configuration that ships inside the modules we build: kwok's stage definitions (node and pod
# lifecycles) and Argo Rollouts' CustomResourceDefinitions, taken from the same module versions.
copy_assets() {
  local name=$1 src=$2 out=$3 moddir
  case "$name" in
    kwok)
      [ -f "$out/stages.yaml" ] && return
      moddir=$(cd "$src" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
      local stage="$moddir/kustomize/stage"
      for f in "$stage"/node/fast/node-initialize.yaml "$stage"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
               "$stage"/pod/fast/pod-ready.yaml "$stage"/pod/fast/pod-complete.yaml "$stage"/pod/fast/pod-delete.yaml; do
        echo "---"; cat "$f"
      done > "$out/stages.yaml.tmp" && mv "$out/stages.yaml.tmp" "$out/stages.yaml" ;;
    argo-rollouts)
      [ -d "$out/crds" ] && [ -f "$out/clusterrole.yaml" ] && return
      moddir=$(cd "$src" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-rollouts)
      rm -rf "$out/crds.tmp" "$out/crds"
      mkdir -p "$out/crds.tmp" && cp "$moddir"/manifests/crds/*-crd.yaml "$out/crds.tmp/" && chmod u+w "$out"/crds.tmp/* && mv "$out/crds.tmp" "$out/crds"
      cp "$moddir/manifests/role/argo-rollouts-clusterrole.yaml" "$out/clusterrole.yaml.tmp" && chmod u+w "$out/clusterrole.yaml.tmp" && mv "$out/clusterrole.yaml.tmp" "$out/clusterrole.yaml" ;;
    crds)
      # Argo CD's real Application/ApplicationSet/AppProject schemas and the PrometheusRule CRD.
      [ -d "$out/argocd" ] && [ -d "$out/prometheus-operator" ] && return
      rm -rf "$out/argocd.tmp" "$out/prometheus-operator.tmp" "$out/argocd" "$out/prometheus-operator"
      moddir=$(cd "$src" && go mod download -json github.com/argoproj/argo-cd/v2 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      mkdir -p "$out/argocd.tmp" && cp "$moddir"/manifests/crds/*-crd.yaml "$out/argocd.tmp/"
      moddir=$(cd "$src" && go mod download -json github.com/prometheus-operator/prometheus-operator | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      mkdir -p "$out/prometheus-operator.tmp" && cp "$moddir"/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml "$out/prometheus-operator.tmp/"
      chmod -R u+w "$out/argocd.tmp" "$out/prometheus-operator.tmp"
      mv "$out/argocd.tmp" "$out/argocd" && mv "$out/prometheus-operator.tmp" "$out/prometheus-operator" ;;
  esac
}

build_one() {
  local name=$1 src="$here/go/$1"
  [ -d "$src" ] || { echo "error: unknown sandbox component '$name'" >&2; exit 2; }
  local key
  key=$(cd "$src" && cat go.mod go.sum *.go 2>/dev/null | sha256sum | cut -c1-16)
  local out="$cache_root/$name-$key"
  if [ -f "$out/.complete" ]; then
    copy_assets "$name" "$src" "$out"
    echo "ready $name $out"
    return
  fi
  echo "building $name (first time only; this takes minutes on 2 cores) ..." >&2
  local tmp="$out.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  local start=$SECONDS
  # shellcheck disable=SC2086
  [ -z "${packages[$name]}" ] || (cd "$src" && go build -trimpath -ldflags "$(ldflags_for "$name")" -o "$tmp/" ${packages[$name]})
  copy_assets "$name" "$src" "$tmp"
  touch "$tmp/.complete"
  rm -rf "$out"; mv "$tmp" "$out"
  echo "built $name in $((SECONDS - start))s" >&2
  echo "ready $name $out"
}

mkdir -p "$cache_root"
# One build at a time per cache (the demo and the tests may both ask), and no leftovers of
# builds that were killed half-way.
exec 9>"$cache_root/.lock"
flock 9
for stale in "$cache_root"/*.tmp.*; do
  [ -e "$stale" ] || continue
  kill -0 "${stale##*.tmp.}" 2>/dev/null || rm -rf "$stale"
done

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(etcd kwok kubernetes argo-rollouts crds)
for c in "${components[@]}"; do build_one "$c"; done
