"""Every setting of the sweep, described once: its flag(s), environment variable(s),
default per mode, kind (bounds included) and help. The command line, the environment
lookup (flag > environment > default), validation, --help, --dry-run and sweep.conf all
come from this table (settings.py, helptext.py)."""

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, Union

from .kinds import (Choice, Classes, Count, Duration, Interval, Pattern, Ratio, Seconds,
                    SpecList, Switch, Text, Words)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODES = ("local", "cluster")
MAX_RPS = 10_000_000  # load_driver --rps
MAX_SPIN_MS = 600_000  # load_driver --spin-ms and the worker's --max-duration-ms
MAX_DURATION_S = 168 * 3600  # load_driver --duration
MAX_RUNS = 10_000
CLASSES = ("kpa", "hpa")  # the autoscaler classes --autoscalers can run, in this order
# The HPA's scale-down stabilization shortened as the KPA's window is (60 s -> 6 s: ten
# times), so that a local run shows its way back to one pod in a minute, not five; the
# rest stays at Kubernetes' defaults (docs/experiments.md says why, setting by setting).
HPA_SERVING_ARGS = "--horizontal-pod-autoscaler-downscale-stabilization 30s"

# A default: a value, a value per mode, or a function of the settings resolved before it.
Default = Union[Any, Dict[str, Any], Callable[[Dict[str, Any]], Any]]


@dataclass(frozen=True)
class Option:
    key: str  # attribute of the resolved settings
    flags: Tuple[str, ...]  # the first is the one --help and messages use; () = env only
    envs: Tuple[str, ...]  # the first wins; the others are older names
    default: Default
    kind: Text
    help: str
    metavar: str = ""
    shown: str = ""  # the default as --help shows it, when it is not a plain value
    modes: Tuple[str, ...] = MODES  # where it applies; a flag elsewhere is an error
    conf: str = ""  # its sweep.conf key (value as resolved), if it has one
    repeat: bool = False  # a repeated flag adds to the list

    @property
    def name(self) -> str:
        """How --help and messages name it when the user did not."""
        return self.flags[0] if self.flags else self.envs[0]

    def default_for(self, mode: str, resolved: Dict[str, Any]) -> Any:
        d = self.default
        if callable(d):
            return d(resolved)
        return d.get(mode) if isinstance(d, dict) else d


def _count(lo: int, hi: int, unit: str = "") -> Count:
    return Count(lo, hi, unit)


def _in_build(path: str) -> Callable[[Dict[str, Any]], str]:
    return lambda s: os.path.join(s["build_dir"], path)


def _utc_id(_: Dict[str, Any]) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


_RPS, _SPIN = _count(1, MAX_RPS, "requests/s"), _count(1, MAX_SPIN_MS, "ms")
_LOCAL = ("local",)
_CLUSTER = ("cluster",)

OPTIONS = (
    Option("mode", ("--mode",), (), "local", Choice(MODES), "local | cluster", "MODE"),
    Option("rps_start", ("--rps-start",), ("RPS_START",), {"local": "20", "cluster": "10"},
           _RPS, "first target rate (requests/s)", "N"),
    Option("rps_step", ("--rps-step",), ("RPS_STEP",), {"local": "90", "cluster": "40"},
           _RPS, "rate step", "N"),
    Option("rps_max", ("--rps-max",), ("RPS_MAX",), {"local": "200", "cluster": "150"},
           _RPS, "last rate (inclusive when on a step)", "N"),
    Option("spin_start", ("--spin-start",), ("SPIN_START",), {"local": "10", "cluster": "100"},
           _SPIN, "first spin per request (ms)", "MS"),
    Option("spin_step", ("--spin-step",), ("SPIN_STEP",), {"local": "90", "cluster": "300"},
           _SPIN, "spin step (ms)", "MS"),
    Option("spin_max", ("--spin-max",), ("SPIN_MAX",), {"local": "100", "cluster": "1000"},
           _SPIN, "last spin (ms)", "MS"),
    Option("duration_s", ("--duration",), ("RUN_DURATION",), {"local": "20s", "cluster": "12m"},
           Seconds(1, MAX_DURATION_S, "must be a whole-second duration from 1s to 168h "
                                      "(90, 90s, 12m, 1m30s)"),
           "per run, warm-up included (whole seconds: 90, 90s, 12m, 1m30s)", "D",
           conf="run_duration_s"),
    Option("warmup_s", ("--warmup",), ("WARMUP_SECONDS",), {"local": "5", "cluster": "120"},
           Seconds(0, MAX_DURATION_S, "must be whole seconds (120 or 2m)"),
           "first seconds of each run, marked warm-up by the driver (seconds or 2m form)",
           "S", conf="warmup_s"),
    Option("repeat", ("--repeat",), ("REPEAT",), "1", _count(1, 1000),
           "each grid point N times (files get a -r1 .. -rN suffix when N > 1); the report "
           "gives the median and a 95 % bootstrap confidence interval", "N", conf="repeat"),
    Option("order", ("--order",), ("ORDER",), "grid", Choice(("grid", "shuffled")),
           "grid: repeat by repeat, spin outer, rps inner; shuffled: the whole plan in a "
           "random order fixed by --seed", "grid|shuffled", conf="order"),
    Option("seed", ("--seed",), ("SEED",), "1", _count(0, 2**32 - 1),
           "seed of --order shuffled", "S", conf="seed"),
    Option("fail_threshold", ("--fail-threshold",), ("FAIL_THRESHOLD",), "0.10", Ratio(),
           "stop the sweep after a run whose (failure+dropped)/scheduled is above this", "R",
           conf="fail_threshold"),
    Option("thresholds", ("--threshold",), ("THRESHOLDS",), "", SpecList(),
           "pass/fail criterion given to every driver (repeatable; like k6: p99<200ms, "
           "send_p95<50ms, failure_rate<0.01, achieved_rps>=95; see docs/experiments.md); "
           "local mode only", "SPEC", conf="thresholds", repeat=True),
    Option("stop_on_threshold", ("--stop-on-threshold",), (), False, Switch(),
           "stop the sweep after a run that violated a --threshold", conf="stop_on_threshold"),
    Option("rate_window_s", ("--rate-window",), ("RATE_WINDOW",), {"local": "3s", "cluster": "1m"},
           Seconds(1, 86400, "must be a whole-second duration from 1s to 24h (3s, 1m)"),
           "range of rate() in the collected series (whole seconds); also the least pause "
           "between runs (see docs/experiments.md)", "D", conf="rate_window_s"),
    Option("prom_url", ("--prom-url",), ("PROM_URL",), "", Text(),
           "Prometheus base URL; local mode runs its own (and ignores this); cluster mode "
           "port-forwards kube-prometheus-stack's when empty (docs/experiments.md)", "URL",
           shown="local: its own"),
    Option("outdir", ("--outdir",), ("OUTDIR",), "results", Text(),
           "parent of the sweep directory", "DIR"),
    Option("sweep_id", ("--sweep-id",), ("SWEEP_ID",), _utc_id,
           Pattern(r"[A-Za-z0-9._-]+", "may hold only letters, digits, '.', '_' and '-'"),
           "the sweep directory's name", "ID", shown="UTC time, e.g. 20260101T120000Z"),
    Option("build_dir", ("--build-dir",), ("BUILD_DIR",), lambda s: os.path.join(ROOT, "build"),
           Text(), "where the binaries are: DIR/worker/worker, DIR/load_driver/load_driver, "
           "DIR/local_serving/local_serving, DIR/autoscaler_model/kpa_model", "DIR",
           shown="<repo>/build"),
    Option("local_pods", ("--local-pods", "--workers"), ("LOCAL_PODS", "LOCAL_WORKERS"), None,
           _count(1, 64, "worker processes"),
           "N fixed worker processes, no autoscaler; N drivers run at RPS/N each, one per "
           "worker, and their CSVs are merged. Without it: local serving", "N",
           shown="local serving", modes=_LOCAL),
    Option("manifest", ("--manifest",), ("KNATIVE_MANIFEST",),
           os.path.join(ROOT, "deploy/base/worker/knative-service.yaml"), Text(),
           "local serving's autoscaling settings: the autoscaling.knative.dev annotations of "
           "this Knative Service YAML", "FILE", shown="deploy/base/worker/knative-service.yaml",
           modes=_LOCAL),
    Option("serving_args", ("--serving-args",), ("LOCAL_SERVING_ARGS",),
           "--window 6s --initial-scale 0", Words(),
           "local_serving flags that win over the manifest, split on whitespace (kpa_model's "
           "names: --window, --target, --pod-start-delay, ...); --serving-args '' keeps the "
           "manifest's and Knative's (docs/experiments.md)", "ARGS", modes=_LOCAL),
    Option("trace_sample_rate", ("--trace-sample-rate",), ("TRACE_SAMPLE_RATE",), "0.01",
           Ratio(), "share (0..1) of each run's requests traced: the driver writes their spans "
           "to traces-<run>.jsonl, the pods' spans go to traces-<run>-pods.jsonl (the report "
           "shows the slowest); 0 turns tracing off", "R", modes=_LOCAL,
           conf="trace_sample_rate"),
    Option("autoscalers", ("--autoscalers",), ("AUTOSCALERS",), "", Classes(CLASSES),
           "run the grid under each autoscaler class in turn: kpa (--manifest, "
           "--serving-args; cluster: kubectl apply -k deploy) and hpa (--hpa-manifest, "
           "--hpa-serving-args; cluster: deploy/overlays/hpa). Several classes: each into "
           "OUTDIR/<sweep-id>/<class>/, then comparison.html and comparison.json in "
           "OUTDIR/<sweep-id>/; one class: the sweep directory itself", "kpa,hpa",
           shown="the manifest's own class", conf="autoscalers"),
    Option("hpa_manifest", ("--hpa-manifest",), ("HPA_MANIFEST",), "", Text(),
           "the hpa class's Knative Service YAML for local serving", "FILE",
           shown="deploy/overlays/hpa rendered by kubectl kustomize", modes=_LOCAL),
    Option("hpa_serving_args", ("--hpa-serving-args",), ("HPA_SERVING_ARGS",),
           HPA_SERVING_ARGS, Words(),
           "local_serving flags for the hpa class, split on whitespace, under "
           "kube-controller-manager's and metrics-server's names "
           "(--horizontal-pod-autoscaler-sync-period, --metric-resolution, --target, ...); "
           "'' keeps the manifest's and Kubernetes' (docs/experiments.md)", "ARGS",
           modes=_LOCAL),
    Option("no_analyze", ("--no-analyze",), (), False, Switch(), "skip tools/analyze_plot.py"),
    Option("dry_run", ("--dry-run",), (), False, Switch(),
           "print the resolved settings and the plan, start nothing; refuses (exit 2) what "
           "the sweep would refuse: a binary not built, drivers' flags load_driver refuses"),
    # The environment only.
    Option("worker_bin", (), ("WORKER_BIN",), _in_build("worker/worker"), Text(),
           "the worker binary", shown="DIR/worker/worker", modes=_LOCAL),
    Option("driver_bin", (), ("DRIVER_BIN",), _in_build("load_driver/load_driver"), Text(),
           "the load_driver binary", shown="DIR/load_driver/load_driver", modes=_LOCAL),
    Option("local_serving_bin", (), ("LOCAL_SERVING_BIN",),
           _in_build("local_serving/local_serving"), Text(), "local serving's binary",
           shown="DIR/local_serving/local_serving", modes=_LOCAL),
    Option("kpa_model_bin", (), ("KPA_MODEL_BIN",), _in_build("autoscaler_model/kpa_model"),
           Text(), "the KPA model (without it the report has no model curves)",
           shown="DIR/autoscaler_model/kpa_model"),
    Option("worker_args", (), ("WORKER_ARGS",), "", Words(),
           "extra arguments for every worker (pod), split on whitespace", modes=_LOCAL),
    Option("driver_args", (), ("DRIVER_ARGS",), "", Words(),
           "extra arguments for every driver, split on whitespace", modes=_LOCAL),
    Option("local_idle_timeout", (), ("LOCAL_IDLE_TIMEOUT",), None,
           Seconds(1, MAX_DURATION_S, "must be whole seconds (60 or 2m)"),
           "how long the wait for the idle state lasts at most, before a run and after "
           "one", shown="fixed pods 60; local serving: stable window + scale-to-zero grace "
           "+ 60", modes=_LOCAL),
    Option("local_linger_s", (), ("LOCAL_LINGER_SECONDS",), "30",
           Seconds(1, 86400, "must be whole seconds (30 or 1m)"),
           "how long a finished driver serves /metrics at most (it is stopped as soon as "
           "Prometheus scraped its final numbers)", modes=_LOCAL),
    Option("cluster_driver_pods", (), ("CLUSTER_DRIVER_PODS",), "1", _count(1, 1000, "pods"),
           "driver pods per run; above 1, an Indexed Job of N driver pods at RPS/N, each "
           "with Poisson arrivals seeded by its index, so that N uniform schedules do not "
           "fire in lockstep (deploy/sweep-parallel)", modes=_CLUSTER),
    Option("cluster_linger", (), ("CLUSTER_LINGER",), "30m", Duration(),
           "how long a finished driver pod serves its results at most", modes=_CLUSTER),
    Option("cluster_namespace", (), ("CLUSTER_NAMESPACE",), "default", Text(),
           "namespace of the worker and the driver Jobs", modes=_CLUSTER),
    Option("cluster_service", (), ("CLUSTER_SERVICE",), "worker", Text(),
           "the worker's Knative Service", modes=_CLUSTER),
    Option("cluster_start_timeout", (), ("CLUSTER_START_TIMEOUT",), "600",
           Seconds(1, MAX_DURATION_S, "must be whole seconds (600 or 10m)"),
           "time allowed beyond a run's duration for scheduling, image pull and draining",
           modes=_CLUSTER),
    Option("cluster_idle_timeout", (), ("CLUSTER_IDLE_TIMEOUT",), "900",
           Seconds(1, MAX_DURATION_S, "must be whole seconds (900 or 15m)"),
           "how long the wait for the worker's pods to be back at min-scale lasts at most",
           modes=_CLUSTER),
    Option("cluster_idle_poll", (), ("CLUSTER_IDLE_POLL",), "5", Interval(),
           "seconds between two counts of the worker's pods", modes=_CLUSTER),
    Option("kubectl", (), ("KUBECTL",), "kubectl", Words(),
           "the kubectl command (may hold arguments); local mode uses it only to render "
           "deploy/overlays/hpa (kubectl kustomize)"),
    Option("prom_namespace", (), ("PROM_NAMESPACE",), "monitoring", Text(),
           "namespace of kube-prometheus-stack's Prometheus (without PROM_URL)",
           modes=_CLUSTER),
    Option("prom_service", (), ("PROM_SERVICE",), "", Text(),
           "its Service (default: found by label, else "
           "monitoring-kube-prometheus-prometheus)", modes=_CLUSTER),
)

BY_KEY = {o.key: o for o in OPTIONS}
BY_FLAG = {f: o for o in OPTIONS for f in o.flags}


def option(key: str) -> Option:
    return BY_KEY[key]


def flag_option(arg: str) -> Optional[Option]:
    return BY_FLAG.get(arg)
