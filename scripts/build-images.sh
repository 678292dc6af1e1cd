#!/usr/bin/env bash
# Builds the three images manifests/ runs, from the targets of the root Dockerfile, tagged as
# the manifests name them: dilu/<component>:<version>, the version being the package's.
# Needs docker with buildx and a running daemon (or a remote builder); CI does not run it.
#
#   scripts/build-images.sh                       # load into the local image store
#   DILU_IMAGE_REGISTRY=registry.example.com DILU_IMAGE_PUSH=1 scripts/build-images.sh
#       # registry.example.com/dilu/<component>:<version>, pushed (then point the install at
#       # it with an `images:` entry, docs/quickstart.md step 1)
#   DILU_IMAGE_PLATFORMS=linux/amd64,linux/arm64 DILU_IMAGE_PUSH=1 ...  # several platforms
#
# Further arguments go to every `docker buildx build` (e.g. --no-cache, --progress=plain).
set -euo pipefail
cd "$(dirname "$0")/.."

registry="${DILU_IMAGE_REGISTRY:-}"
prefix="${registry:+${registry%/}/}dilu"
# --load takes one platform only; several platforms have to be pushed.
if [ "${DILU_IMAGE_PUSH:-}" = 1 ]; then output=--push; else output=--load; fi
platform_args=()
if [ -n "${DILU_IMAGE_PLATFORMS:-}" ]; then platform_args=(--platform "$DILU_IMAGE_PLATFORMS"); fi

for component in autoscaler webhook device-plugin; do
  # Each image's tag is its own package's version, which the manifests' tags must match
  # (test/manifests/images.test.ts checks that).
  version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$component/package.json")"
  if [ -z "$version" ]; then
    echo "no version in $component/package.json" >&2
    exit 1
  fi
  image="$prefix/$component:$version"
  echo "=== $image (target $component)"
  docker buildx build --target "$component" --tag "$image" "${platform_args[@]}" "$output" "$@" .
done
