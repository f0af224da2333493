"""One cluster run: its driver Job created, waited for (its pods turn Ready once the run
is over and the results are served), the results fetched through the pod proxy, the Job
deleted."""

import json
import os
import sys
import time
from typing import List, Optional

from . import manifests, merge
from .console import RunFailed, log, warn
from .procs import wait_for

METRICS_PORT = 2113  # the driver's, where it serves its results while it lingers


def job_failed(b, job: str) -> bool:
    return (b.kubectl.out("get", "job", "-n", b.ns, job, "-o",
                          'jsonpath={.status.conditions[?(@.type=="Failed")].status}') or
            "").strip() == "True"


def ready_pods(b, job: str) -> int:
    return sum(1 for x in b.kubectl.lines(
        "get", "pods", "-n", b.ns, "-l", f"job-name={job}", "-o",
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}')
        if x.strip() == "True")


def wait_results(b, job: str, want: int, timeout: float) -> bool:
    """Until `want` pods of the Job are Ready: the driver's readiness probe passes once
    /done answers, i.e. the run is over and its results can be fetched. Gives up early
    when the Job failed (the driver exited before lingering)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job_failed(b, job):
            log(f"Job {job} failed; last driver log lines:")
            sys.stderr.write(b.kubectl.run("logs", "-n", b.ns, f"job/{job}", "--tail=20").stdout)
            return False
        if ready_pods(b, job) >= want:
            return True
        # Block on the pods' readiness for a while, bounded; no pods yet is fine.
        if not b.kubectl.ok("wait", "--for=condition=Ready", "pod", "-n", b.ns, "-l",
                            f"job-name={job}", "--timeout=15s", timeout=30):
            time.sleep(2)
    log(f"timed out after {timeout:g}s waiting for {job} to finish its run")
    sys.stderr.write(b.kubectl.run("get", "pods", "-n", b.ns, "-l", f"job-name={job}").stdout)
    return False


def fetch(b, pod: str, name: str, out: str) -> bool:
    """GET the driver's /NAME through the API server's pod proxy into `out`, atomically."""
    r = b.kubectl.run("get", "--raw",
                      f"/api/v1/namespaces/{b.ns}/pods/{pod}:{METRICS_PORT}/proxy/{name}")
    if r.returncode == 0 and r.stdout:
        with open(out + ".part", "w") as f:
            f.write(r.stdout)
        os.replace(out + ".part", out)
        return True
    log(f"cannot fetch {name} from pod {pod}")
    return False


def scheduled(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            return int(json.load(f)["scheduled"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def fetch_pod(b, pod: str, out: str, summary: str, end: float) -> bool:
    """Summary first: the driver exits once both files were fetched, and Prometheus
    (scrape interval 15 s) must scrape its final count before that, so that the run's
    window holds its last seconds."""
    ok = fetch(b, pod, "summary.json", summary)
    sched = scheduled(summary) if ok else None
    if sched is not None and not wait_for(
            lambda: b.prom.driver_final("pod", pod, sched, end), 60,
            f"Prometheus to scrape {pod}'s final count"):
        warn("the run's last seconds may be missing from prometheus-*.json")
    return fetch(b, pod, "results.csv", out) and ok


def run_job(b, point, csv_out: str, summary_out: str) -> None:
    s = b.s
    name = f"{point.rps}rps-{point.spin_ms}ms-{time.strftime('%H%M%S', time.gmtime())}"
    path = os.path.join(b.tmp, f"job-{name}.yaml")
    try:
        job = b.render(name, point.rps, point.spin_ms, path, f"{s.duration_s}s", f"{s.warmup_s}s",
                       s.cluster_linger)
    except manifests.RenderError as e:
        raise RunFailed(f"cannot render the run's Job: {e}")
    if not b.kubectl.ok("create", "-f", path):
        log(f"kubectl create failed for {path}")
        raise RunFailed("kubectl create failed")
    b.jobs.append(job)
    b.current_job = job
    log(f"Job {job} created ({b.pods} pod(s))")
    if not wait_results(b, job, b.pods, s.duration_s + s.cluster_start_timeout):
        b.delete_job(job)
        raise RunFailed(f"Job {job} did not finish its run")
    end = time.time()
    b.last_end = end
    pods = b.kubectl.lines("get", "pods", "-n", b.ns, "-l", f"job-name={job}", "-o",
                           'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}')
    outs: List[str] = []
    sums: List[str] = []
    for pod in pods:
        outs.append(csv_out if b.pods == 1 else os.path.join(b.tmp, f"{pod}.csv"))
        sums.append(summary_out if b.pods == 1 else os.path.join(b.tmp, f"{pod}.json"))
    ok = all([fetch_pod(b, pod, out, summ, end) for pod, out, summ in zip(pods, outs, sums)])
    b.delete_job(job)
    b.current_job = ""
    if not ok or not pods:
        raise RunFailed(f"the results of Job {job} could not be fetched")
    if b.pods > 1:
        try:
            merge.merge(str(point.rps), csv_out, summary_out, outs, sums)
        except (merge.MergeError, OSError, ValueError) as e:
            raise RunFailed(f"cannot merge the driver pods' files: {e}")
