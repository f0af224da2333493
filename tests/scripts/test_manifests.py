"""knbench_sweep.manifests: the driver Job templates rendered with kustomize, then their
{{KEY}} placeholders filled in the parsed YAML (a whole "{{KEY}}" with an integer value
becomes an integer), bad values and leftovers refused."""
import os
import shlex

import pytest
import yaml

from conftest import ROOT
from knbench_sweep import manifests
from knbench_sweep.kube import Kubectl

KUBECTL = Kubectl(["kubectl"])
SAMPLE = ["NAME=10rps-100ms-120000", "SPIN=100", "DURATION=720s", "WARMUP=120s", "LINGER=30m"]


def render(kdir, pairs, tmp_path):
    out = tmp_path / "out.yaml"
    manifests.render_file(KUBECTL, os.path.join(ROOT, "deploy", kdir), str(out), pairs)
    return list(yaml.safe_load_all(out.read_text()))


def test_the_sweep_job_gets_the_runs_values(tmp_path):
    (job,) = render("sweep", SAMPLE + ["RPS=10"], tmp_path)
    assert job["metadata"]["name"] == "load-driver-10rps-100ms-120000"
    assert job["metadata"]["labels"]["knbench.dev/run"] == "10rps-100ms-120000"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {"--rps=10", "--spin-ms=100", "--duration=720s", "--warmup=120s",
            "--linger=30m"} <= set(args)


def test_whole_integer_placeholders_become_integers(tmp_path):
    (job,) = render("sweep-parallel", SAMPLE + ["PODS=4", "RPS_PER_POD=2.5"], tmp_path)
    assert job["spec"]["completions"] == 4 and job["spec"]["parallelism"] == 4
    assert "--rps=2.5" in job["spec"]["template"]["spec"]["containers"][0]["args"]


def test_fill_and_leftovers():
    doc = {"a": "{{N}}", "b": ["x-{{N}}", "{{S}}"], "{{N}}": 1, "c": "{{LEFT}}"}
    filled = manifests.fill(doc, {"N": "7", "S": "1s"})
    assert filled == {"a": 7, "b": ["x-7", "1s"], "7": 1, "c": "{{LEFT}}"}
    assert manifests.leftovers(filled) == ["LEFT"]


@pytest.mark.parametrize("bad", ["NAME=a b", "NAME=a/b", "RPS=1;2", "lower=1", "NAME"])
def test_bad_values_are_refused(bad):
    with pytest.raises(manifests.RenderError):
        manifests.parse_values(SAMPLE + [bad])


def test_unfilled_placeholders_are_refused(tmp_path, capsys):
    with pytest.raises(manifests.RenderError, match="placeholders left unfilled"):
        render("sweep", ["NAME=x", "RPS=1"], tmp_path)
    assert manifests.main(["--kubectl", shlex.join(["kubectl"]), os.path.join(ROOT, "deploy",
                           "sweep"), str(tmp_path / "o.yaml"), "NAME=x"]) == 1
    assert "placeholders left unfilled" in capsys.readouterr().err
    assert not (tmp_path / "o.yaml").exists()
