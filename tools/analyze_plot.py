#!/usr/bin/python3
"""Turn one sweep's results into plots, summary.csv and report.html.

Input: a results directory (results/<sweep-id>/) holding, per run,
results-<rps>rps-<spin>ms.csv (the driver's CSV, or the original project's
six-column CSV), and optionally summary-<rps>rps-<spin>ms.json (the driver's
summary) and prometheus-<rps>rps-<spin>ms.json (scripts/collect_prometheus.sh).

The code lives in the knbench_analysis package beside this file; this is its
entry point. Run with Debian's /usr/bin/python3 (pandas, matplotlib). See
docs/analysis.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from knbench_analysis.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
