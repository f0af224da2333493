#!/usr/bin/env bash
# Build the worker and load-driver images, push them, and point the deploy/
# kustomizations at them (deploy/components/images/kustomization.yaml is the
# one place image names and tags are set).
set -euo pipefail

PROG="$(basename "$0")"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: scripts/build_and_push.sh [options]

Builds docker/worker.Dockerfile and docker/load_driver.Dockerfile from the
repository root, pushes both images and sets them in
deploy/components/images/kustomization.yaml:
  knbench/worker      -> REGISTRY/knbench-worker:TAG
  knbench/load-driver -> REGISTRY/knbench-load-driver:TAG

Options (flag or environment variable):
  --registry R     REGISTRY  registry/namespace to push to, e.g.
                             docker.io/alice or ghcr.io/org (required)
  --tag T          TAG       image tag (default: git short hash, plus
                             -dirty if the tree has changes)
  --builder B      BUILDER   docker, podman or buildah (default: docker if
                             its engine answers, else podman, else buildah)
  --platform P     PLATFORM  e.g. linux/amd64 (default: the builder's)
  --no-push                  build and set the images, do not push
  --set-images-only          only rewrite the kustomization (images built
                             elsewhere); needs no builder
  --images-file F            kustomization to rewrite (default
                             deploy/components/images/kustomization.yaml)
  -h, --help                 this help

Without a Docker engine, Podman and Buildah build as root or rootless;
where they cannot create namespaces (e.g. inside a CI container), add
BUILDAH_ISOLATION=chroot (Buildah's own setting; docs/deploy.md, "Images").

Then: scripts/deploy_all.sh
EOF
}

KNBENCH_LOG_NAME="$PROG"
# shellcheck source=scripts/lib/common.sh
source "${ROOT}/scripts/lib/common.sh"

REGISTRY="${REGISTRY:-}"
TAG="${TAG:-}"
BUILDER="${BUILDER:-}"
PLATFORM="${PLATFORM:-}"
PUSH=1
BUILD=1
IMAGES_FILE="${ROOT}/deploy/components/images/kustomization.yaml"

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --registry) [[ $# -ge 2 ]] || die "--registry needs a value"; REGISTRY="$2"; shift 2 ;;
    --registry=*) REGISTRY="${1#*=}"; shift ;;
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; TAG="$2"; shift 2 ;;
    --tag=*) TAG="${1#*=}"; shift ;;
    --builder) [[ $# -ge 2 ]] || die "--builder needs a value"; BUILDER="$2"; shift 2 ;;
    --platform) [[ $# -ge 2 ]] || die "--platform needs a value"; PLATFORM="$2"; shift 2 ;;
    --no-push) PUSH=0; shift ;;
    --set-images-only) BUILD=0; PUSH=0; shift ;;
    --images-file) [[ $# -ge 2 ]] || die "--images-file needs a value"; IMAGES_FILE="$2"; shift 2 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ -n "$REGISTRY" ]] || die "REGISTRY is not set (e.g. --registry docker.io/alice; see --help)"
REGISTRY="${REGISTRY%/}"
[[ "$REGISTRY" =~ ^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?$ ]] ||
  die "REGISTRY '${REGISTRY}' is not a valid registry/namespace (lower case, e.g. ghcr.io/org)"
if [[ -z "$TAG" ]]; then
  TAG="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)" ||
    die "TAG is not set and this is not a git checkout (use --tag)"
  if [[ -n "$(git -C "$ROOT" status --porcelain -- CMakeLists.txt proto common worker load_driver docker 2>/dev/null)" ]]; then
    TAG="${TAG}-dirty"
  fi
fi
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "TAG '${TAG}' is not a valid image tag"
[[ -f "$IMAGES_FILE" ]] || die "images kustomization not found: ${IMAGES_FILE}"

WORKER_IMAGE="${REGISTRY}/knbench-worker:${TAG}"
DRIVER_IMAGE="${REGISTRY}/knbench-load-driver:${TAG}"

# set_image FILE NAME NEWNAME NEWTAG: rewrite newName/newTag of the images:
# entry `- name: NAME` in FILE (kept as plain text: comments survive; no
# kustomize binary needed). Fails if the entry is missing.
set_image() {
  local file="$1" name="$2" new_name="$3" new_tag="$4" tmp
  tmp="$(mktemp "${file}.XXXXXX")"
  if ! awk -v name="$name" -v nn="$new_name" -v nt="$new_tag" '
      /^[[:space:]]*- name:[[:space:]]*/ {
        v = $0; sub(/^[[:space:]]*- name:[[:space:]]*/, "", v); inside = (v == name); if (inside) found = 1
      }
      inside && /^[[:space:]]+newName:/ { sub(/newName:.*/, "newName: " nn) }
      inside && /^[[:space:]]+newTag:/ { sub(/newTag:.*/, "newTag: " nt) }
      { print }
      END { exit found ? 0 : 3 }' "$file" >"$tmp"; then
    rm -f "$tmp"
    die "no images entry '- name: ${name}' in ${file}"
  fi
  mv -f "$tmp" "$file"
}

# The first builder that can build here: Docker only with a reachable engine
# (its client alone cannot build); Podman and Buildah need no daemon.
pick_builder() {
  local b
  for b in docker podman buildah; do
    if command -v "$b" >/dev/null 2>&1 && "$b" info >/dev/null 2>&1; then
      echo "$b"
      return 0
    fi
  done
  return 1
}

if ((BUILD)); then
  if [[ -z "$BUILDER" ]]; then
    # pick_builder checks what it picks.
    BUILDER="$(pick_builder)" ||
      die "no image builder: Docker's engine is not reachable and neither podman nor buildah works here (install one, or use --set-images-only)"
  else
    command -v "$BUILDER" >/dev/null 2>&1 ||
      die "${BUILDER} not found: install Docker, Podman or Buildah (--builder), or use --set-images-only"
    "$BUILDER" info >/dev/null 2>&1 || die "${BUILDER} is installed but cannot build here ('${BUILDER} info' fails; for docker: is the daemon running?)"
  fi
  build_cmd=(build)
  # Buildah caches layers only when asked; Docker and Podman always do.
  [[ "$(basename "$BUILDER")" == buildah ]] && build_cmd=(build --layers)
  [[ -n "$PLATFORM" ]] && build_cmd+=(--platform "$PLATFORM")
  echo "building ${WORKER_IMAGE} with ${BUILDER}"
  "$BUILDER" "${build_cmd[@]}" -f "${ROOT}/docker/worker.Dockerfile" -t "$WORKER_IMAGE" "$ROOT"
  echo "building ${DRIVER_IMAGE} with ${BUILDER}"
  "$BUILDER" "${build_cmd[@]}" -f "${ROOT}/docker/load_driver.Dockerfile" -t "$DRIVER_IMAGE" "$ROOT"
fi
if ((PUSH)); then
  "$BUILDER" push "$WORKER_IMAGE" || die "push of ${WORKER_IMAGE} failed (logged in? '${BUILDER} login ${REGISTRY%%/*}')"
  "$BUILDER" push "$DRIVER_IMAGE" || die "push of ${DRIVER_IMAGE} failed"
fi

set_image "$IMAGES_FILE" knbench/worker "${REGISTRY}/knbench-worker" "$TAG"
set_image "$IMAGES_FILE" knbench/load-driver "${REGISTRY}/knbench-load-driver" "$TAG"
echo "images set in ${IMAGES_FILE}:"
echo "  ${WORKER_IMAGE}"
echo "  ${DRIVER_IMAGE}"
if ((!PUSH)); then
  echo "not pushed (--no-push/--set-images-only): the cluster must be able to pull them"
fi
echo "next: scripts/deploy_all.sh"
