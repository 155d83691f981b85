#!/usr/bin/env bash
# Builds a real kube-apiserver and etcd from their Go modules into .cache/real-k8s/bin/,
# so herd's controllers and e2e tests can be checked against the strict upstream server.
# Each binary gets its own scratch module: kube-apiserver and etcd 3.6 want different
# versions of the etcd client and gRPC, and one module would force one version on both.
# Go's module and build caches are left at their defaults, so a second run takes seconds.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.33.13}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/real-k8s"
bin="$cache/bin"
src="$cache/src"
mkdir -p "$bin" "$src/kube" "$src/etcd"

export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local

kube_minor="${KUBE_VERSION#v1.}"      # 33.13
staging_version="v0.${kube_minor}"    # v0.33.13

# k8s.io/kubernetes points its staging modules (k8s.io/api, k8s.io/apiserver, ...) at
# ./staging with replace lines that do not apply to a module that requires it; pin each
# one to the release tagged alongside this kubernetes version instead.
kube_gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
staging_modules="$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9./-]*\) => \./staging/.*#\1#p' "$kube_gomod" | sort -u)"

{
  echo "module herd.local/realk8s/kube"
  echo
  echo "go 1.24"
  echo
  echo "require k8s.io/kubernetes ${KUBE_VERSION}"
  echo
  for module in $staging_modules; do
    echo "replace ${module} => ${module} ${staging_version}"
  done
} > "$src/kube/go.mod"

# Without these the server reports v0.0.0-master, and kubectl cannot pick a matching client.
major_minor="${KUBE_VERSION#v}"
version_pkg="k8s.io/component-base/version"
kube_ldflags="-s -w \
 -X ${version_pkg}.gitVersion=${KUBE_VERSION} \
 -X ${version_pkg}.gitMajor=${major_minor%%.*} \
 -X ${version_pkg}.gitMinor=$(echo "$major_minor" | cut -d. -f2) \
 -X ${version_pkg}.gitTreeState=clean \
 -X ${version_pkg}.buildDate=1970-01-01T00:00:00Z"

echo "building kube-apiserver ${KUBE_VERSION} (staging modules at ${staging_version})" >&2
(cd "$src/kube" && go build -ldflags "$kube_ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)

{
  echo "module herd.local/realk8s/etcd"
  echo
  echo "go 1.24"
  echo
  echo "require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}"
} > "$src/etcd/go.mod"

echo "building etcd ${ETCD_VERSION}" >&2
(cd "$src/etcd" && go build -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)

echo "$bin/kube-apiserver"
echo "$bin/etcd"
