"""The RPS x spin sweep (scripts/run_experiments.sh): plan it, run it through a local or
a cluster backend, record every run as data (runs.json) for the analysis
(tools/knbench_analysis). Debian's python3 packages only (yaml)."""
