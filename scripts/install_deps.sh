#!/usr/bin/env bash
# Installs every Debian package the build, the tests, local mode and the plots
# need. Idempotent: installs only what is missing. Run as root or with sudo.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/install_deps.sh [--help] [--print]

Installs (apt-get) what building, testing and running the kit needs on
Debian bookworm, and the npm packages the manifest validation uses.
  --print   only list the packages, install nothing
USAGE
}

# Build: compilers, CMake, gRPC/protobuf/abseil/prometheus-cpp (whose CMake
# package looks for civetweb, though we use only its core), GoogleTest,
# nghttp2 (the HTTP/2 of the driver's transport and of local_serving's router;
# without it CMake leaves local_serving out and the driver speaks gRPC only),
# nlohmann-json (every JSON we write or read in C++), libcurl (tracing's
# OTLP/HTTP exporter).
BUILD_PACKAGES=(
  g++ make cmake pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev libcivetweb-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev libnghttp2-dev nlohmann-json3-dev libcurl4-openssl-dev
)
# Local mode, tests, plots: a real Prometheus, curl and jq for its API, Debian's
# Python stack (pandas, matplotlib, pytest, grpcio for a foreign client),
# yamllint and kubectl-free manifest checks, nodejs/npm for schema validation,
# h2load as the benchmark peer, clang + its runtime for fuzzing/sanitizers.
RUNTIME_PACKAGES=(
  prometheus curl jq iproute2 procps
  python3 python3-pandas python3-matplotlib python3-pytest python3-grpcio
  python3-protobuf python3-yaml
  yamllint shellcheck util-linux
  nghttp2-client
  clang libclang-rt-14-dev
)
# Container images without a Docker engine: Buildah builds and the images
# test runs them; Podman is build_and_push.sh's other daemonless builder;
# debootstrap makes the debian:bookworm stand-in base (docs/deploy.md).
IMAGE_PACKAGES=(
  buildah podman debootstrap debian-archive-keyring
)
# Commands that may come from elsewhere than Debian (the machine image ships
# Node.js 20 from NodeSource and a current kubectl): installed from Debian
# only when the command is missing, never over another vendor's package.
#   command  Debian packages
COMMANDS=(
  "node nodejs npm"
  "npm npm"
)

print_only=0
for arg in "$@"; do
  case "$arg" in
    --help|-h) usage; exit 0 ;;
    --print) print_only=1 ;;
    *) echo "install_deps.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

all=("${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${IMAGE_PACKAGES[@]}")
if [[ "$print_only" == 1 ]]; then
  printf '%s\n' "${all[@]}"
  for entry in "${COMMANDS[@]}"; do printf '%s (if no %s command)\n' "${entry#* }" "${entry%% *}"; done
  echo "kubectl (not from Debian: its kubernetes-client is too old for kustomize components)"
  exit 0
fi

missing=()
for pkg in "${all[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
for entry in "${COMMANDS[@]}"; do
  read -r cmd pkgs <<<"$entry"
  if ! command -v "$cmd" >/dev/null; then
    read -r -a more <<<"$pkgs"
    missing+=("${more[@]}")
  fi
done
if ! command -v kubectl >/dev/null; then
  echo "install_deps.sh: warning: kubectl not found; the manifest render tests need a kubectl with kustomize (v1.21+) on PATH" >&2
fi

if ((${#missing[@]})); then
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || { echo "install_deps.sh: run as root or install sudo" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "install_deps.sh: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install_deps.sh: all ${#all[@]} Debian packages present" >&2
fi

# npm packages for manifest schema validation, pinned by the lockfile.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$here/deploy/tests/setup.sh" ]]; then
  "$here/deploy/tests/setup.sh"
fi
