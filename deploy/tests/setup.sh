#!/usr/bin/env bash
# Installs the schema validator's npm dependencies (pinned by
# deploy/tests/validate/package-lock.json) with `npm ci`. Idempotent: does
# nothing when node_modules already matches the lockfile.
# scripts/install_deps.sh may call this; the ctest fixture does too.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: deploy/tests/setup.sh [--force]

Runs `npm ci` in deploy/tests/validate (kubernetes-models,
@kubernetes-models/knative, @kubernetes-models/prometheus-operator, yaml at
the versions in package-lock.json). Skips the install when node_modules was
installed from the current lockfile, unless --force.
Needs node >= 20 and npm, and network access to the npm registry.
USAGE
}

force=0
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --force) force=1 ;;
  "") ;;
  *) echo "setup.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/validate" && pwd)"
command -v node >/dev/null || { echo "setup.sh: error: node not found (Debian/NodeSource nodejs >= 20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup.sh: error: npm not found" >&2; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
((major >= 20)) || { echo "setup.sh: error: node >= 20 needed, found $(node --version)" >&2; exit 1; }

stamp="${dir}/node_modules/.knbench-lock.sha256"
want="$(sha256sum "${dir}/package-lock.json" | cut -d' ' -f1)"
if ((!force)) && [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]]; then
  echo "setup.sh: node_modules is up to date with package-lock.json"
  exit 0
fi
# The packages declare engines node >= 22 but run on node 20 (checked by the
# tests); do not let the engine warning fail the install.
(cd "$dir" && npm ci --no-audit --no-fund --engine-strict=false --loglevel=error)
echo "$want" >"$stamp"
echo "setup.sh: installed $(cd "$dir" && npm ls --depth=0 2>/dev/null | tail -n +2 | tr -d '\n' | sed 's/  */ /g')"
