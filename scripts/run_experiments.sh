#!/usr/bin/env bash
# RPS x spin-ms sweep: one load_driver run per grid point, on this machine (local
# serving or fixed pods) or on a Knative cluster, then the analysis report. The sweep is
# the Python package tools/knbench_sweep (its --help lists every option); this wrapper
# only picks the interpreter: Debian's /usr/bin/python3 (python3-yaml; the analysis needs
# its pandas and matplotlib), or KNBENCH_PYTHON.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="${ROOT}/tools${PYTHONPATH:+:${PYTHONPATH}}"
exec "${KNBENCH_PYTHON:-/usr/bin/python3}" -m knbench_sweep "$@"
