#!/usr/bin/env bash
# Builds the kafka-demo image (all five programs) and pushes it to a registry.
#
#   deploy/docker/build.sh REGISTRY [TAG]
#
#   REGISTRY  where to push, with any path prefix: harbor.example.com/kafka-demo, ghcr.io/acme, docker.io/acme
#   TAG       default: the project version from CMakeLists.txt and the commit, e.g. 0.1.0-8e78371
#             (with -dirty appended when the work tree has uncommitted changes)
#
# Log in first (docker login REGISTRY). The image is REGISTRY/kafka-demo:TAG; the script prints the line that
# points a kustomize overlay at it. Environment: DOCKER (default docker), PLATFORM (e.g. linux/amd64, passed to
# --platform when set).
set -euo pipefail

usage() {
  echo "usage: $0 REGISTRY [TAG]   e.g. $0 harbor.example.com/kafka-demo" >&2
  exit 2
}
(($# >= 1 && $# <= 2)) || usage
registry=${1%/}
[[ -n $registry && $registry != *://* && $registry != */ ]] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
docker_cmd=${DOCKER:-docker}

if (($# == 2)); then
  tag=$2
else
  version=$(sed -n 's/^project(.*VERSION \([0-9][0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
  commit=$(git -C "$repo" rev-parse --short HEAD)
  tag="${version:-0.0.0}-${commit}"
  if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then tag+="-dirty"; fi
fi
# A Docker tag: up to 128 of [A-Za-z0-9_.-], not starting with . or -.
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { echo "build.sh: invalid tag '$tag'" >&2; exit 2; }

image="$registry/kafka-demo:$tag"
build_args=(build --file "$repo/deploy/docker/Dockerfile" --tag "$image")
if [[ -n ${PLATFORM:-} ]]; then build_args+=(--platform "$PLATFORM"); fi
build_args+=(--label "org.opencontainers.image.version=$tag")
build_args+=("$repo")

echo "build.sh: building $image"
DOCKER_BUILDKIT=1 "$docker_cmd" "${build_args[@]}"
echo "build.sh: pushing $image"
"$docker_cmd" push "$image"

cat <<EOF
build.sh: pushed $image
Point an overlay at it:
  (cd deploy/k8s/overlays/<env> && kustomize edit set image kafka-demo=$image)
or for compose:
  KAFKA_DEMO_IMAGE=$image docker compose -f deploy/compose.yaml up -d
EOF
