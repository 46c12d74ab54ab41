#!/usr/bin/env bash
# The monorepo example built by hand, the way teams script it before a tool: one podman
# command after another, in dependency order, every tag pushed straight from the local
# list, smoke tests run per platform. The baseline bench/build/run.ts measures against.
# Needs: INTERNAL (registry/acme), PUBLIC, TAG, BASE, AUTHFILE; run from examples/monorepo.
set -euo pipefail
: "${INTERNAL:?}" "${PUBLIC:?}" "${TAG:?}" "${BASE:?}" "${AUTHFILE:?}"

# manifest-first: name context file platforms "registries" "tags" [build args...]
manifest_first() {
  local name=$1 context=$2 file=$3 platforms=$4 registries=$5 tags=$6
  shift 6
  local list="$INTERNAL/$name:$TAG"
  podman manifest rm "$list" >/dev/null 2>&1 || true
  podman build --platform "$platforms" --manifest "$list" --jobs 2 --file "$file" --authfile "$AUTHFILE" "$@" "$context"
  push_list "$list" "$name" "$registries" "$tags"
}

# Every tag in every registry, straight from the local list.
push_list() {
  local list=$1 name=$2 registries=$3 tags=$4
  for registry in $registries; do
    for tag in $tags; do
      podman manifest push --all --authfile "$AUTHFILE" "$list" "docker://$registry/$name:$tag"
    done
  done
}

# per-arch: one build and one push per platform (to an arch tag), then the list.
per_arch() {
  local name=$1 context=$2 file=$3 platforms=$4 registries=$5 tags=$6
  shift 6
  local list="$INTERNAL/$name:$TAG"
  podman manifest rm "$list" >/dev/null 2>&1 || true
  podman manifest create "$list" >/dev/null
  for platform in ${platforms//,/ }; do
    local arch_tag="$INTERNAL/$name:$TAG-${platform//\//-}"
    podman build --platform "$platform" --tag "$arch_tag" --file "$file" --authfile "$AUTHFILE" "$@" "$context"
    podman push --authfile "$AUTHFILE" "$arch_tag"
    podman manifest add --authfile "$AUTHFILE" "$list" "docker://$arch_tag"
  done
  push_list "$list" "$name" "$registries" "$tags"
}

smoke() {
  local image=$1 platforms=$2
  shift 2
  for platform in ${platforms//,/ }; do podman run --rm --pull=never --platform "$platform" "$image" "$@"; done
}

both="$INTERNAL $PUBLIC"
two=linux/amd64,linux/arm64
manifest_first base images/base images/base/Containerfile $two "$both" "$TAG latest" --build-arg "BASE=$BASE"
smoke "$INTERNAL/base:$TAG" $two cat /etc/acme-base
manifest_first runtime images/runtime images/runtime/Containerfile $two "$both" "$TAG" --build-arg "REGISTRY=$INTERNAL" --build-arg "TAG=$TAG"
per_arch tools images/tools images/tools/Containerfile linux/amd64,linux/arm64,linux/s390x "$INTERNAL" "$TAG" --build-arg "BASE=$BASE"
for platform in linux/amd64 linux/arm64 linux/s390x; do
  podman run --rm --pull=never --platform $platform "$INTERNAL/tools:$TAG-${platform//\//-}" uname -m
done
per_arch api services/api services/api/Containerfile $two "$both" "$TAG latest" --build-arg "RUNTIME=$INTERNAL/runtime:$TAG" --build-arg NODE_ENV=production
for platform in linux/amd64 linux/arm64; do
  podman run --rm --pull=never --platform $platform "$INTERNAL/api:$TAG-${platform//\//-}" cat /srv/api/VERSION
done
manifest_first worker services/worker services/worker/Containerfile $two "$both" "$TAG latest" --build-arg "REGISTRY=$INTERNAL" --build-arg "TAG=$TAG"
per_arch web services/web services/web/Containerfile.web $two "$both" "$TAG latest" --build-arg "BASE=$INTERNAL/base:$TAG"
manifest_first migrations services/migrations services/migrations/Containerfile $two "$INTERNAL" "$TAG" --build-arg "REGISTRY=$INTERNAL" --build-arg "TAG=$TAG"
