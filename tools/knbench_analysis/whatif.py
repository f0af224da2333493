"""The KPA model's arguments: the settings the sweep ran with, then --kpa-args on top as a
what-if. A sweep records the model's arguments for the settings it ran (runs.json's
system.kpa_model_args; sweep.conf's kpa_model_args in a directory without runs.json): with
local serving every setting it resolved, manifest and --serving-args included. A what-if
such as --kpa-args="--target 20" replaces the flags it names and keeps the rest, so the
model still has the sweep's max-scale and stable window; the report says what it changed.
kpa_model takes the last value of a repeated flag, and a flag over --from-manifest."""

import re
import shlex
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .sweep import SweepInfo


@dataclass(frozen=True)
class Flag:
    name: str  # without dashes, '_' as '-'; "" for a word that is no flag
    value: Optional[str]  # None: a bare boolean flag
    words: Tuple[str, ...]  # as written


@dataclass(frozen=True)
class Change:
    setting: str
    sweep: Optional[str]  # None: the sweep's arguments did not set it
    what_if: Optional[str]

    def text(self) -> str:
        new = "true" if self.what_if is None else self.what_if
        if self.sweep is None:
            return f"{self.setting} {new} (the sweep's arguments did not set it)"
        return f"{self.setting} {self.sweep} \u2192 {new}"


@dataclass(frozen=True)
class ModelArgs:
    args: List[str]  # what kpa_model is given
    sweep: List[str]  # what the sweep recorded
    what_if: List[str]  # --kpa-args
    changes: List[Change]
    note: str = ""  # said in the report when the layering needs a word


def parse(words: List[str]) -> List[Flag]:
    """--name=value, --name value and --name (a boolean; --noname is name=false)."""
    out, i = [], 0
    while i < len(words):
        w = words[i]
        if not w.startswith("-") or w in ("-", "--"):
            out.append(Flag("", None, (w,)))
            i += 1
            continue
        name, eq, value = w.lstrip("-").partition("=")
        name = name.replace("_", "-")
        if eq:
            out.append(Flag(name, value, (w,)))
        elif i + 1 < len(words) and _is_value(words[i + 1]):
            out.append(Flag(name, words[i + 1], (w, words[i + 1])))
            i += 1
        elif name.startswith("no") and len(name) > 2:
            out.append(Flag(name[2:], "false", (w,)))
        else:
            out.append(Flag(name, None, (w,)))
        i += 1
    return out


def _is_value(word: str) -> bool:
    """A flag's value, not the next flag ("-1" is a value: target-burst-capacity -1)."""
    return not word.startswith("-") or bool(re.match(r"-[0-9.]", word))


def recorded(info: SweepInfo) -> Tuple[List[str], str]:
    """The model's arguments the sweep recorded, and why there are none ("" when there
    are some, or nothing to say)."""
    system = info.system
    if system.get("class") == "hpa":
        return [], ("the sweep ran the HPA class, whose settings are not the KPA model's: "
                    "the model runs with --kpa-args alone")
    args = system.get("kpa_model_args")
    if isinstance(args, list) and all(isinstance(a, str) for a in args):
        return list(args), ""
    try:
        return shlex.split(info.get("kpa_model_args")), ""
    except ValueError:
        return [], ("sweep.conf's kpa_model_args cannot be read: the model runs with "
                    "--kpa-args alone")


def layer(sweep: List[str], what_if: List[str]) -> ModelArgs:
    """The sweep's flags that the what-if does not name, then the what-if as written."""
    ours, theirs = parse(sweep), parse(what_if)
    named = {f.name for f in theirs if f.name}
    kept = [w for f in ours if not f.name or f.name not in named for w in f.words]
    before = {f.name: f.value for f in ours if f.name}
    changes = [Change(f.name, before.get(f.name), f.value) for f in theirs
               if f.name and (f.name not in before or before[f.name] != f.value)]
    note = ""
    if "from-manifest" in named and any(f.name != "from-manifest" for f in ours if f.name):
        note = ("--kpa-args names --from-manifest, but the sweep's settings are flags, which "
                "win over a manifest: name the settings to change instead (--target 20)")
    return ModelArgs(kept + list(what_if), list(sweep), list(what_if), changes, note)


def words(m: ModelArgs) -> str:
    """What the report says the what-if did ("" without one)."""
    if not m.what_if:
        return ""
    if not m.sweep:
        return "--kpa-args " + shlex.join(m.what_if) + " (no settings recorded by the sweep)"
    if not m.changes:
        return "--kpa-args " + shlex.join(m.what_if) + ": the sweep's settings, unchanged"
    return ("--kpa-args " + shlex.join(m.what_if) + " on top of the sweep's settings: "
            + "; ".join(c.text() for c in m.changes))
