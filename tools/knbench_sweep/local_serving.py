"""Local serving: one local_serving for the whole sweep (Knative's activator,
queue-proxies and autoscaler on this machine, whose pods are worker processes: the KPA
scales them from zero and back, the HPA class between min-scale (at least 1) and
max-scale on their CPU). Its autoscaling settings come from a Knative Service YAML, then
the class's serving arguments; `local_serving --check-config --format=json` resolves
them before anything starts, and what it prints is what the sweep records and the report
reads."""

import os
import shlex
import shutil
import time
from typing import Dict, List, Optional, Tuple

from . import checkconfig, net, procs
from .console import UsageError, log, warn
from .checkconfig import scale_down_s
from .durations import seconds_or
from .options import ROOT
from .podwatch import PodsFailed, PodWatch, evidence
from .procs import Children, wait_for

SCRAPE_S = 1
MANIFEST_COPY = "knative-service.yaml"  # in logs/: a manifest the sweep rendered


class ServingSystem:
    kind = "local serving"

    def __init__(self, settings, sut):
        self.s, self.sut = settings, sut
        self.config: Optional[checkconfig.ServingConfig] = None
        self.targets: List[str] = []  # the one driver's target: local_serving's --listen
        self.metrics_port = 0
        self.child: Optional[procs.Child] = None
        self.tmp = self.logs = ""
        self.watch: Optional[PodWatch] = None
        self.trace_args: List[str] = []  # where it and its pods export spans (tracing on)

    # --- settings -------------------------------------------------------------------
    def flags(self) -> List[str]:
        """The manifest, then --serving-args (so they win), then each WORKER_ARGS word as
        a --worker-arg."""
        return ([f"--from-manifest={self.sut.manifest}", "--shutdown-grace=5s",
                 *self.sut.serving_args] + [f"--worker-arg={w}" for w in self.s.worker_args])

    def resolve(self) -> None:
        """local_serving --check-config: bad settings (an unknown flag, a bad value, a bad
        manifest) end the sweep here with local_serving's own line, before anything
        starts."""
        if self.config is not None:
            return
        worker = [f"--worker={self.s.worker_bin}"] if self.s.worker_bin else []
        try:
            self.config = checkconfig.resolve(self.s.local_serving_bin, self.flags() + worker)
        except checkconfig.ConfigError as e:
            raise UsageError(f"local serving's settings are invalid: {e}")
        got, want = self.config.autoscaler_class, self.sut.autoscaler_class
        if self.sut.chosen and got != want:
            raise UsageError(f"--autoscalers {want}: local_serving resolved the {got} class "
                             f"from {self.sut.manifest} and its arguments "
                             f"'{' '.join(self.sut.serving_args)}' (the {want} class needs a "
                             f"manifest whose autoscaling.knative.dev/class is {want})")

    def seconds(self, key: str, default: float) -> float:
        """A duration setting in seconds: resolved, else as --serving-args gives it (before
        the settings are resolved: no binary yet, in --dry-run), else `default`."""
        if self.config is not None:
            return self.config.seconds(key, default)
        return seconds_or(_arg_value(self.sut.serving_args, "--" + key.replace("_", "-")),
                          default)

    @property
    def autoscaler_class(self) -> str:
        return self.config.autoscaler_class if self.config else self.sut.autoscaler_class

    def plan_conf(self) -> Dict[str, str]:
        if not os.path.isfile(self.sut.manifest):
            flag = "--hpa-manifest / HPA_MANIFEST" if self.sut.autoscaler_class == "hpa" \
                else "--manifest / KNATIVE_MANIFEST"
            raise UsageError(f"the Knative Service manifest '{self.sut.manifest}' does not "
                             f"exist ({flag})")
        conf = {"system": "local serving", "workers": "autoscaled by local_serving",
                "local_serving_bin": self.s.local_serving_bin, "manifest": self.sut.manifest,
                "serving_args": " ".join(self.sut.serving_args)}
        if self.sut.manifest_source:
            conf["manifest_source"] = self.sut.manifest_source
        if os.access(self.s.local_serving_bin, os.X_OK):
            self.resolve()
            conf.update(autoscaler_class=self.config.autoscaler_class,
                        pod_start_delay=str(self.config.value("pod_start_delay") or ""))
            if self.config.value("window"):
                conf["stable_window"] = str(self.config.value("window"))
            conf["idle_pods"] = str(self.config.idle_pods)
        return conf

    def scale_down_s(self) -> float:
        """About how long the revision takes back to its idle state after a run."""
        return self.config.scale_down_s() if self.config else \
            scale_down_s(self.sut.autoscaler_class, self.seconds)

    def planned_extra_s(self) -> Tuple[int, int]:
        """After its load a run lasts until the revision is idle again (KPA: about a
        stable window; HPA: its scale-down stabilization and a metric sample and sync).
        The first time, the KPA's fast path to zero also needs the activator in the path
        for the scale-to-zero grace period since local_serving started."""
        back = int(self.scale_down_s())
        if self.autoscaler_class == "hpa":
            return back, 0
        grace = int(self.seconds("scale_to_zero_grace_period", 30))
        return back, max(0, grace - self.s.duration_s - 2 * back)

    def binaries(self) -> List[tuple]:
        return [("local_serving", self.s.local_serving_bin), ("worker", self.s.worker_bin)]

    # --- processes ------------------------------------------------------------------
    def start(self, children: Children, ports: net.Ports, tmp: str, logs: str) -> None:
        self.resolve()
        self.tmp, self.logs = tmp, logs
        listen, self.metrics_port = ports.take(), ports.take()
        self.targets = [f"127.0.0.1:{listen}"]
        with open(os.path.join(tmp, "pods.json"), "w") as f:
            f.write("[]\n")
        os.makedirs(os.path.join(logs, "pods"), exist_ok=True)
        self.watch = PodWatch(os.path.join(logs, "pods"))
        if self.sut.manifest_source:  # made for this sweep (the HPA's): kept with its logs
            shutil.copyfile(self.sut.manifest, os.path.join(logs, MANIFEST_COPY))
        # Ours last, so that no --serving-args can move the ports or files.
        argv = [self.s.local_serving_bin, *self.flags(), f"--worker={self.s.worker_bin}",
                f"--listen=127.0.0.1:{listen}", f"--metrics-port={self.metrics_port}",
                f"--log-dir={os.path.join(logs, 'pods')}",
                f"--prometheus-sd-file={os.path.join(tmp, 'pods.json')}",
                f"--stats-out={os.path.join(logs, 'local_serving-stats.csv')}",
                f"--decisions-out={os.path.join(logs, 'local_serving-decisions.csv')}",
                *self.trace_args, *(f"--worker-arg={w}" for w in self.trace_args)]
        self.child = children.spawn("local_serving", argv,
                                    os.path.join(logs, "local_serving.log"), grace=45)
        log(f"started local_serving (pid {self.child.pid}) at 127.0.0.1:{listen}, metrics "
            f":{self.metrics_port}, pod logs in {os.path.join(logs, 'pods')}")

    def stop(self) -> None:
        """local_serving stopped (it stops its pods) before the rest of the teardown."""
        if self.child is not None:
            self.child.stop()

    def scrape_configs(self) -> List[dict]:
        # local_serving rewrites the pod list (atomically) as pods come and go.
        return [{"job_name": "worker", "file_sd_configs": [
                    {"files": [os.path.join(self.tmp, "pods.json")], "refresh_interval": "5s"}]},
                # Its pods' cAdvisor and kube-state-metrics series carry their own pod
                # label, which the target's would otherwise rename to exported_pod.
                {"job_name": "local_serving", "honor_labels": True, "static_configs": [
                    {"targets": [f"127.0.0.1:{self.metrics_port}"],
                     "labels": {"pod": "local_serving"}}]}]

    def wait_ready(self) -> None:
        listen = int(self.targets[0].rsplit(":", 1)[1])
        self.child.wait_ready(lambda: net.listening(listen) and net.http_ok(
            f"http://127.0.0.1:{self.metrics_port}/healthz"), 30)

    def scraped_when_ready(self) -> Tuple[str, int]:
        """The Prometheus job, and how many of its targets, up before the first run."""
        return "local_serving", 1

    def ready_line(self) -> str:
        v = self.config.value
        service = "/".join(str(x) for x in (v("namespace"), v("service")) if x) or "worker"
        if self.autoscaler_class == "hpa":
            down = v("window") or v("horizontal_pod_autoscaler_downscale_stabilization")
            what = (f"HPA: {v('metric')} target {checkconfig.flag_value(v('target'))}, "
                    f"sync every {v('horizontal_pod_autoscaler_sync_period')}, downscale "
                    f"stabilization {down}")
        else:
            what = (f"target {checkconfig.flag_value(v('target_per_pod'))} per pod, window "
                    f"{v('window')}")
        return (f"local backend ready: local serving ({service}: {what}, min "
                f"{v('min_scale')} max {v('max_scale')}, pod start delay "
                f"{v('pod_start_delay')}), Prometheus scraping every 1s")

    # --- idle -----------------------------------------------------------------------
    @property
    def idle_pods(self) -> int:
        if self.config:
            return self.config.idle_pods
        return 1 if self.sut.autoscaler_class == "hpa" else 0

    @property
    def idle_what(self) -> str:
        return (f"local serving to be back at its idle state ({self.idle_pods} pods, nothing "
                "queued or in flight)")

    def idle_timeout(self) -> float:
        if self.s.local_idle_timeout:
            return self.s.local_idle_timeout
        grace = 0 if self.autoscaler_class == "hpa" else \
            self.seconds("scale_to_zero_grace_period", 30)
        return self.scale_down_s() + grace + 60

    def state(self) -> Optional[dict]:
        """local_serving's /state (None: no answer), once the pod watch has seen it:
        PodsFailed when its pods cannot run, or local_serving itself exited."""
        if self.child is not None and not self.child.alive():
            raise PodsFailed(f"local_serving exited (exit {self.child.process.returncode}); "
                             f"{evidence(self.child.log_path)}")
        st = net.http_json(f"http://127.0.0.1:{self.metrics_port}/state")
        if not isinstance(st, dict):
            return None
        if self.watch is not None:
            self.watch.observe(st)
        return st

    def check(self) -> None:
        """PodsFailed when the pods cannot run (polled while a run's drivers go)."""
        self.state()

    def idle(self) -> bool:
        """/state shows the revision at its idle state: the idle count requested and
        ready, no pod pending, starting or terminating, nothing queued or in flight."""
        st = self.state()
        if st is None:
            return False
        want = {"requested": self.idle_pods, "ready": self.idle_pods, "not_ready": 0,
                "pending": 0, "terminating": 0, "queued": 0, "inflight": 0}
        return all(st.get(k) == v for k, v in want.items())

    def after_run(self, prom: net.Prometheus) -> None:
        """The run lasts until the revision is back at its idle state, so its window holds
        the scale-down too (0 -> N -> 0); then two scrapes, so that the collected series'
        last step sees it."""
        if not wait_for(self.idle, self.idle_timeout(),
                        "local serving to scale back to its idle state after the run"):
            warn("the revision was not back at its idle state in time; the run's window "
                 "ends without it")
            return
        idle_at = time.time() + SCRAPE_S
        if not wait_for(lambda: prom.scraped_after("local_serving", idle_at), 15,
                        "Prometheus to scrape local serving's idle state"):
            warn("the run's window may end before its scale-down shows in prometheus-*.json")

    # --- what ran -------------------------------------------------------------------
    def describe(self) -> Dict[str, str]:
        manifest = self.sut.manifest_source or (
            os.path.relpath(self.sut.manifest, ROOT)
            if self.sut.manifest.startswith(ROOT + os.sep) else self.sut.manifest)
        args = " ".join(self.sut.serving_args)
        scaled = ("between min-scale (at least 1) and max-scale on their CPU by Knative's "
                  "HPA class (Kubernetes' HorizontalPodAutoscaler, " if
                  self.autoscaler_class == "hpa" else "from zero and back by Knative's KPA (")
        return {
            "system_under_test": "local serving: the worker ran as pods (worker processes on "
                                 "this machine) behind local_serving's activator and "
                                 f"queue-proxy, scaled {scaled}the autoscaler_model code that "
                                 "kpa_model replays); one local_serving for the whole sweep",
            "autoscaling": self.config.autoscaling_line(),
            "autoscaling_source": f"{manifest} (its autoscaling.knative.dev annotations"
                                  + (f"; kept as logs/{MANIFEST_COPY}"
                                     if self.sut.manifest_source else "")
                                  + ")" + (f", then {args}" if args else ""),
            "pod_start_delay": str(self.config.value("pod_start_delay") or "unknown"),
            "serving_flags": " ".join(self.flags()) + " --prometheus-sd-file --stats-out "
                             "--decisions-out (logs/local_serving-*.csv)",
            "worker_flags": "local_serving's --bind 127.0.0.1 --grpc-port --metrics-port "
                            "--shutdown-grace" + "".join(
                                f", then {' '.join(w)}" for w in (self.s.worker_args,
                                                                  self.trace_args) if w),
            "kpa_model_args": shlex.join(self.kpa_model_args()),
        }

    def kpa_model_args(self) -> List[str]:
        return self.config.replay_args()

    def analysis_model_args(self) -> Optional[List[str]]:
        """The KPA model's arguments for the analysis, which replays each run's driver
        CSV; None for the HPA class, whose model needs the pods' CPU (the replay check
        covers it)."""
        return None if self.autoscaler_class == "hpa" else self.kpa_model_args()

    def replay_check(self, kpa_model: str) -> Optional[str]:
        """kpa_model replays local serving's per-second stats with the same settings: one
        line on whether its decisions equal the live ones (None: nothing to check)."""
        stats = os.path.join(self.logs, "local_serving-stats.csv")
        live = os.path.join(self.logs, "local_serving-decisions.csv")
        replay = os.path.join(self.logs, "kpa_model-replay.csv")
        if not (os.access(kpa_model, os.X_OK) and _nonempty(stats) and _nonempty(live)):
            return None
        r = procs.run([kpa_model, "--input", stats, "--output", replay,
                       *self.kpa_model_args()], timeout=600)
        if r.returncode != 0:
            lines = (r.stderr or "").strip().splitlines() or [f"exit {r.returncode}"]
            return ("not checked: kpa_model failed on logs/local_serving-stats.csv "
                    f"({lines[-1]})")
        with open(replay, "rb") as a, open(live, "rb") as b:
            got, want = a.read(), b.read()
        n = want.count(b"\n") - 1
        if got == want:
            return ("identical: kpa_model's replay of logs/local_serving-stats.csv gives the "
                    f"{n} live decisions of logs/local_serving-decisions.csv")
        got, want = got.splitlines(), want.splitlines()
        line = next((i for i, (x, y) in enumerate(zip(got, want), 1) if x != y),
                    min(len(got), len(want)) + 1)
        return (f"DIFFERENT: kpa_model's replay (logs/kpa_model-replay.csv) and the {n} live "
                f"decisions differ from line {line}")


def _nonempty(path: str) -> bool:
    return os.path.isfile(path) and os.path.getsize(path) > 0


def _arg_value(words, flag: str) -> Optional[str]:
    """The value of `flag` in split arguments (--flag=V or --flag V); the last one wins."""
    value = None
    for i, w in enumerate(words):
        if w.startswith(flag + "="):
            value = w[len(flag) + 1:]
        elif w == flag and i + 1 < len(words):
            value = words[i + 1]
    return value
