"""knbench_analysis: one sweep's results turned into statistics, plots and a report.

Modules, in the order data flows through them:
  loading  find the runs of a sweep directory, read CSVs, summaries, Prometheus JSON
  stats    per-run statistics as typed dataclasses (RunStats)
  kpa      the KPA model CLI run per run
  plots    matplotlib figures (PNG files)
  report   summary.csv and report.html
  cli      the command line (tools/analyze_plot.py is its entry point)

Run with Debian's /usr/bin/python3 (pandas, matplotlib). See docs/analysis.md.
"""
