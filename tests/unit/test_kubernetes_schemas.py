"""deploy/kubernetes renders, and what it renders is valid, checked without a cluster.

Core objects are validated against the Kubernetes 1.37 OpenAPI schemas shipped by the
`kubernetes-validate` wheel (strict: an unknown field fails). KEDA's objects have no schema there:
they are parsed with the models generated from KEDA's CRDs (`cloudcoil-models-keda`) and must
survive the round trip unchanged, so a misspelt or mistyped field fails too.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from cloudcoil.models.keda.v1alpha1 import ScaledObject, TriggerAuthentication

from tests.support.manifests import (
    BASE,
    KEDA_KINDS,
    KUBERNETES_VERSION,
    OLDEST_KUBERNETES,
    TREES,
    named,
    of_kind,
    render,
)

KEDA_MODELS: dict[str, Any] = {"ScaledObject": ScaledObject, "TriggerAuthentication": TriggerAuthentication}
assert set(KEDA_MODELS) == KEDA_KINDS


@pytest.mark.parametrize("tree", TREES)
def test_every_tree_renders(tree: str) -> None:
    kinds = {doc["kind"] for doc in render(tree)}
    assert {"Deployment", "Job", "ScaledObject", "TriggerAuthentication", "PodDisruptionBudget"} <= kinds


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, KUBERNETES_VERSION])
@pytest.mark.parametrize("tree", TREES)
def test_core_objects_match_the_kubernetes_schemas(tree: str, version: str) -> None:
    checked = 0
    for doc in render(tree):
        if doc["kind"] in KEDA_MODELS:
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 10


def test_schema_validation_catches_a_misspelt_field() -> None:
    """The strict check is real: one wrong letter in a security setting fails it."""
    deployment = copy.deepcopy(named(render(BASE), "Deployment", "sleepy-factory-worker-render"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFileSystem"] = container["securityContext"].pop(
        "readOnlyRootFilesystem"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("tree", TREES)
def test_keda_objects_match_the_keda_crds(tree: str) -> None:
    for doc in render(tree):
        model = KEDA_MODELS.get(doc["kind"])
        if model is None:
            continue
        parsed = model.model_validate(doc)
        # Unknown fields are dropped by the models: a round trip that changes anything had one.
        assert parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") == doc


def test_keda_check_catches_a_misspelt_field() -> None:
    scaled = copy.deepcopy(of_kind(render(BASE), "ScaledObject")[0])
    scaled["spec"]["cooldownPerod"] = scaled["spec"].pop("cooldownPeriod")
    parsed = ScaledObject.model_validate(scaled)
    assert parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") != scaled
