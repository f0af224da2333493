#!/usr/bin/python3
"""Merge the CSVs and summaries of N load_driver processes that ran one grid point
together: the command line of knbench_sweep.merge (tools/knbench_sweep/merge.py), which
the sweep's backends call directly."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tools"))
from knbench_sweep.merge import MergeError, merge  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rps", required=True, help="the run's total target rate")
    ap.add_argument("--out", required=True, help="merged CSV to write")
    ap.add_argument("--summary", required=True, help="merged summary JSON")
    ap.add_argument("--inputs", nargs="+", required=True)
    ap.add_argument("--summaries", nargs="+", required=True)
    args = ap.parse_args()
    try:
        merge(args.rps, args.out, args.summary, args.inputs, args.summaries)
    except (MergeError, OSError, ValueError) as e:
        print(f"merge_runs.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
