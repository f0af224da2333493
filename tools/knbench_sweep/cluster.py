"""The cluster backend (--mode cluster): one driver Job per run on a Knative cluster,
its results fetched through the API server's pod proxy while the driver lingers (no
exec, no shell in the image), Prometheus from kube-prometheus-stack."""

import json
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

from . import manifests, net, tmpdirs
from .cluster_run import run_job
from .console import UsageError, log, warn
from .durations import seconds_or
from .kube import Kubectl
from .options import ROOT
from .procs import Children, sleep_until, wait_for

TMP_PREFIX = "knbench-cluster"
PREFIX = "autoscaling.knative.dev/"


def idle_and_window(annotations: Dict[str, str]) -> Tuple[int, int]:
    """The idle pod count and the KPA's stable window (s) from a Knative Service's
    template annotations: min-scale (legacy minScale), at least 1 for the HPA class,
    which cannot scale to zero; autoscaling.knative.dev/window, default 60s."""
    def get(*keys: str) -> Optional[str]:
        return next((str(annotations[PREFIX + k]) for k in keys if PREFIX + k in annotations),
                    None)
    try:
        idle = int(float(get("min-scale", "minScale") or 0))
    except ValueError:
        idle = 0
    if "hpa" in (get("class") or ""):
        idle = max(idle, 1)
    return idle, int(seconds_or(get("window"), 60))


class ClusterBackend:
    collect_mode = "cluster"

    def __init__(self, settings, sut, log_dir: str = ""):
        self.s, self.sut = settings, sut
        self.kubectl = Kubectl(settings.kubectl, settings.cluster_namespace)
        self.ns, self.service = settings.cluster_namespace, settings.cluster_service
        self.pods = settings.cluster_driver_pods
        self.children = Children()
        self.tmp = ""
        self.jobs: List[str] = []  # Jobs created and not deleted yet
        self.current_job = ""  # the run in progress (progress lines)
        self.ksvc: Optional[dict] = None  # the live Knative Service, as kubectl gives it
        self.idle_pods, self.stable_window_s = 0, 60
        self.last_end: Optional[float] = None
        self.prom_url = settings.prom_url
        self.prom: Optional[net.Prometheus] = None

    def plan(self) -> Dict[str, str]:
        if not self.sut.deploy_dir:
            return {}
        return {"autoscaler_class": self.sut.autoscaler_class,
                "deploy": f"kubectl apply -k {os.path.relpath(self.sut.deploy_dir, ROOT)}"}

    def planned_overhead(self) -> Tuple[int, int]:
        """The driver Job's start (~30 s), the final 15 s scrape, and the wait until the
        pods are idle again (KPA: stable window + scale-to-zero grace 30 s; HPA: its 5 min
        downscale stabilization + a metric sample and a sync); with --autoscalers, the
        class's deployment (about a minute)."""
        back = 300 + 30 if self.sut.autoscaler_class == "hpa" else 60 + 30
        return 30 + 15 + max(self.s.rate_window_s, back), 70 if self.sut.deploy_dir else 10

    # --- setup ---------------------------------------------------------------------------
    def _need_cluster(self) -> None:
        command = " ".join(self.kubectl.command)
        if not self.kubectl.found():
            raise UsageError("kubectl not found (set KUBECTL or install kubectl); cluster mode "
                             "needs a Kubernetes cluster with Knative Serving")
        if not self.kubectl.ok("version", "--request-timeout=10s", timeout=30):
            context = self.kubectl.run("config", "current-context", timeout=30)
            first = ((context.stdout or context.stderr).strip().splitlines() or [""])[0]
            raise UsageError(f"cannot reach a Kubernetes cluster with '{command}' (check "
                             f"KUBECONFIG / the current context: {first})")
        if not self.kubectl.ok("get", "crd", "services.serving.knative.dev"):
            raise UsageError("Knative Serving is not installed (CRD services.serving.knative.dev"
                             " missing)")
        if not self.sut.deploy_dir and not self.kubectl.ok("get", "ksvc", "-n", self.ns,
                                                            self.service):
            raise UsageError(f"Knative Service {self.ns}/{self.service} not found; run "
                             "scripts/deploy_all.sh first")

    def _deploy(self) -> None:
        """--autoscalers: the class's manifests applied, then (bounded) until the Knative
        Service has reconciled them and is Ready; the first run's idle wait then waits
        for its pods to be at the class's idle count."""
        rel = os.path.relpath(self.sut.deploy_dir, ROOT)
        log(f"{self.sut.autoscaler_class} class: kubectl apply -k {rel}")
        r = self.kubectl.run("apply", "-k", self.sut.deploy_dir)
        if r.returncode != 0:
            last = ((r.stderr or r.stdout).strip().splitlines() or [""])[-1]
            raise UsageError(f"kubectl apply -k {rel} failed: {last}")
        timeout = self.s.cluster_start_timeout
        if not wait_for(self._reconciled, timeout, f"{self.ns}/{self.service} to be Ready",
                        poll=self.s.cluster_idle_poll):
            raise UsageError(f"the Knative Service {self.ns}/{self.service} was not Ready "
                             f"{timeout}s after kubectl apply -k {rel} (CLUSTER_START_TIMEOUT)")
        cls = (self.annotations() or {}).get(PREFIX + "class", "kpa.autoscaling.knative.dev")
        if not cls.startswith(self.sut.autoscaler_class + "."):
            raise UsageError(f"after kubectl apply -k {rel} the Knative Service "
                             f"{self.ns}/{self.service} has class {cls}, not "
                             f"{self.sut.autoscaler_class}")

    def _reconciled(self) -> bool:
        """The live Knative Service (read into self.ksvc) has reconciled its latest
        generation and is Ready: a Ready condition of the previous generation does not
        count."""
        try:
            self.ksvc = json.loads(self.kubectl.out("get", "ksvc", "-n", self.ns, self.service,
                                                    "-o", "json") or "")
            status = self.ksvc.get("status") or {}
            ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
            return (status.get("observedGeneration") == self.ksvc["metadata"]["generation"]
                    and bool(ready) and ready[0].get("status") == "True")
        except (ValueError, KeyError, TypeError, AttributeError):
            return False

    def setup(self) -> None:
        if self.pods > 1:
            log(f"CLUSTER_DRIVER_PODS={self.pods}: each run is {self.pods} driver pods at "
                f"rps/{self.pods}, with Poisson arrivals (seed = pod index) so their schedules "
                "do not fire in lockstep")
        self._need_cluster()
        self.tmp = tmpdirs.make(TMP_PREFIX)
        if self.sut.deploy_dir:
            self._deploy()
        else:
            try:
                self.ksvc = json.loads(self.kubectl.out("get", "ksvc", "-n", self.ns,
                                                        self.service, "-o", "json") or "")
            except ValueError:
                self.ksvc = None
        self.idle_pods, self.stable_window_s = idle_and_window(self.annotations() or {})
        try:  # render once up front, so that a broken template fails before the first run
            self.render("check", 1, 1, os.path.join(self.tmp, "check.yaml"), "1s", "0s", "1s")
        except manifests.RenderError as e:
            raise UsageError(f"cannot render deploy/{self.template()}: {e}")
        if self.prom_url:
            if not net.http_ok(self.prom_url.rstrip("/") + "/-/ready"):
                raise UsageError(f"Prometheus at PROM_URL={self.prom_url} is not ready")
        else:
            self._forward_prometheus()
        self.prom = net.Prometheus(self.prom_url)
        log(f"cluster backend ready: {self.ns}/{self.service}, {self.pods} driver pod(s) per "
            f"run, Prometheus {self.prom_url}")

    def _forward_prometheus(self) -> None:
        pns, svc = self.s.prom_namespace, self.s.prom_service
        if not svc:
            svc = (self.kubectl.out("get", "svc", "-n", pns, "-l",
                                    "app=kube-prometheus-stack-prometheus", "-o",
                                    "jsonpath={.items[0].metadata.name}") or "").strip() \
                or "monitoring-kube-prometheus-prometheus"
        if not self.kubectl.ok("get", "svc", "-n", pns, svc):
            raise UsageError(f"Prometheus service {pns}/{svc} not found; install "
                             "kube-prometheus-stack (docs/deploy.md) or set PROM_URL / "
                             "PROM_SERVICE")
        port = net.Ports().take()
        self.prom_url = f"http://127.0.0.1:{port}"
        child = self.children.spawn(
            "kubectl port-forward (Prometheus)",
            [*self.kubectl.command, "port-forward", "-n", pns, f"svc/{svc}", f"{port}:9090",
             "--address", "127.0.0.1"], os.path.join(self.tmp, "port-forward-prometheus.log"),
            grace=5)
        if not wait_for(lambda: net.http_ok(self.prom_url + "/-/ready"), 30,
                        f"port-forward to {pns}/{svc}"):
            raise UsageError(f"cannot reach Prometheus through the port-forward to {pns}/{svc} "
                             f"(see {child.log_path}); set PROM_URL")
        log(f"Prometheus {pns}/{svc} forwarded to {self.prom_url} (pid {child.pid})")

    def annotations(self) -> Optional[Dict[str, str]]:
        try:
            a = self.ksvc["spec"]["template"]["metadata"].get("annotations") or {}
            return a if isinstance(a, dict) else None
        except (KeyError, TypeError, AttributeError):
            return None

    # --- runs -------------------------------------------------------------------------
    def template(self) -> str:
        return "sweep-parallel" if self.pods > 1 else "sweep"

    def render(self, name: str, rps: int, spin: int, out: str, duration: str, warmup: str,
               linger: str) -> str:
        """The run's Job into `out`; its name."""
        values = dict(NAME=name, SPIN=str(spin), DURATION=duration, WARMUP=warmup, LINGER=linger)
        if self.pods > 1:
            values.update(PODS=str(self.pods), RPS_PER_POD=f"{rps / self.pods:.6g}")
        else:
            values.update(RPS=str(rps))
        manifests.render_file(self.kubectl, os.path.join(ROOT, "deploy", self.template()), out,
                              [f"{k}={v}" for k, v in values.items()])
        return f"load-driver-par-{name}" if self.pods > 1 else f"load-driver-{name}"

    def worker_pods(self) -> Optional[int]:
        """The worker's pods, any phase (terminating ones still hold calls); None when
        kubectl cannot list them (the reason on stderr)."""
        r = self.kubectl.run("get", "pods", "-n", self.ns, "-l",
                             f"serving.knative.dev/service={self.service}", "-o", "name")
        if r.returncode != 0:
            print(((r.stderr or r.stdout).strip().splitlines() or [""])[0], flush=True,
                  file=sys.stderr)
            return None
        return sum(1 for x in r.stdout.splitlines() if x.startswith("pod/"))

    def wait_idle(self, gap_s: int) -> bool:
        """The worker's pods back at the idle count, and max(gap_s, the KPA's stable
        window) since the previous run ended: neither a collected rate window nor the
        autoscaler's own stable window of the next run holds the previous run."""
        if not self.tmp:
            raise RuntimeError("wait_idle before setup")
        timeout = self.s.cluster_idle_timeout
        deadline = time.monotonic() + timeout
        while True:
            n = self.worker_pods()
            if n is None:
                warn("cannot list the worker's pods; the idle state is not checked")
                return False
            if n <= self.idle_pods:
                break
            if time.monotonic() >= deadline:
                warn(f"the worker still has {n} pod(s) after {timeout}s (idle: {self.idle_pods})")
                return False
            time.sleep(self.s.cluster_idle_poll)
        if self.last_end is not None:
            sleep_until(self.last_end + max(gap_s, self.stable_window_s))
        return True

    def run(self, point, csv_out: str, summary_out: str) -> None:
        """One run's Job to completion (RunFailed when it could not be done)."""
        run_job(self, point, csv_out, summary_out)

    def run_files(self, point) -> Dict[str, str]:
        """The run's files beyond the plan's: none (a cluster's spans go to its collector)."""
        return {}

    def progress_lines(self, name: str) -> List[str]:
        """The latest progress line of each driver pod of the run in progress."""
        job = self.current_job
        if not job:
            return []
        r = self.kubectl.run("logs", "-n", self.ns, "-l", f"job-name={job}", "--prefix",
                             "--tail=20", "--request-timeout=5s", timeout=10)
        last: Dict[str, str] = {}
        for line in (r.stdout or "").splitlines():
            if " elapsed " in line:
                last[line.split(" ", 1)[0]] = line
        return list(last.values())

    def delete_job(self, job: str) -> None:
        if not self.kubectl.ok("delete", "job", "-n", self.ns, job, "--ignore-not-found",
                               "--cascade=foreground", "--wait=true", "--timeout=120s"):
            log(f"could not delete Job {job} (delete it by hand)")
        if job in self.jobs:
            self.jobs.remove(job)

    # --- what ran --------------------------------------------------------------------------
    def describe(self) -> Dict[str, str]:
        a = self.annotations()
        if a is None:
            auto = "unknown (the Knative Service's annotations could not be read)"
        else:
            kv = [f"{k[len(PREFIX):]}={v}" for k, v in sorted(a.items()) if k.startswith(PREFIX)]
            auto = " ".join(kv) or "Knative defaults (no autoscaling annotation)"
        try:
            args = self.ksvc["spec"]["template"]["spec"]["containers"][0].get("args") or []
        except (KeyError, IndexError, TypeError, AttributeError):
            args = []
        context = (self.kubectl.out("config", "current-context", timeout=30) or "").strip()
        par = (f"-parallel, {self.pods} pods at rps/{self.pods} each, Poisson arrivals (seed = "
               "pod index)") if self.pods > 1 else ""
        deployed = (f", as kubectl apply -k {os.path.relpath(self.sut.deploy_dir, ROOT)} "
                    "deployed it") if self.sut.deploy_dir else ""
        return {"autoscaling": auto, "idle_pods": str(self.idle_pods),
                "worker_flags": " ".join(map(str, args)) or "(the image's defaults)",
                "autoscaling_source": f"live Knative Service {self.ns}/{self.service} "
                                      f"(kubectl get ksvc){deployed}",
                "system_under_test": f"cluster: the Knative Service {self.ns}/{self.service} "
                                     f"(kubectl context {context or 'unknown'}), scraped by "
                                     "kube-prometheus-stack",
                "driver_flags": f"Job template deploy/sweep{par}"}

    def system_record(self) -> Dict[str, object]:
        return {"kind": self.sut.kind, "class": self.sut.autoscaler_class,
                "namespace": self.ns, "service": self.service,
                "annotations": self.annotations(), "driver_pods": self.pods,
                "serving_config": None, "kpa_model_args": self.kpa_model_args()}

    def kpa_model_args(self) -> List[str]:
        """The KPA model replays the base manifest's settings."""
        return ["--from-manifest", self.sut.model_manifest]

    def analysis_model_args(self) -> Optional[List[str]]:
        """No KPA model next to the HPA class's runs: it would not say what the HPA did."""
        return None if self.sut.autoscaler_class == "hpa" else self.kpa_model_args()

    def replay_check(self, kpa_model: str) -> Optional[str]:
        return None

    def teardown(self) -> None:
        for job in list(self.jobs):
            log(f"deleting Job {job} left by an interrupted run")
            self.delete_job(job)
        self.children.stop_all()
        tmpdirs.remove(self.tmp, TMP_PREFIX)
        self.tmp = ""
        self.last_end = None
        self.current_job = ""

