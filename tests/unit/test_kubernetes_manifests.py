"""deploy/kubernetes keeps its promises, checked on what `kubectl kustomize` renders, without a cluster.

What the manifests promise (hardening, probes, resources, secrets, scaling, policies). The schema
checks are in test_kubernetes_schemas.py; the depth queries run against a real Postgres in
tests/integration/test_keda_queries.py.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from sleepy_factory.config import Settings
from sleepy_factory.pipeline import ALL_STAGES

from tests.support.manifests import (
    BASE,
    KEDA_KINDS,
    KUBERNETES,
    KUBERNETES_VERSION,
    OVERLAYS,
    TREES,
    Doc,
    containers,
    env_value,
    named,
    of_kind,
    render,
    render_path,
    settings,
)

APP_UID = 10001  # the images' USER
SECRET_NAMES = re.compile(r"PASSWORD|TOKEN|SECRET|DATABASE_URL|ACCESS_KEY", re.IGNORECASE)
ROLE_DEPLOYMENTS = {
    "sleepy-factory-orchestrator",
    "sleepy-factory-recovery",
    "sleepy-factory-api",
    *(f"sleepy-factory-worker-{stage}" for stage in ALL_STAGES),
}


def sf_containers(docs: tuple[Doc, ...]) -> list[Any]:
    """The containers that run `sf` (the dev overlay's Postgres is not one)."""
    return [c for c in containers(docs) if c.spec.get("command", [""])[0] == "sf"]


def quantity(value: str | int) -> float:
    """A Kubernetes quantity (500m, 2, 384Mi, 8Gi) as a plain number."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


@pytest.mark.parametrize("tree", TREES)
def test_every_container_is_hardened(tree: str) -> None:
    found = list(containers(render(tree)))
    assert found
    for container in found:
        pod_context = container.pod.get("securityContext", {})
        context = container.spec.get("securityContext", {})
        where = f"{tree}: {container.owner} container {container.spec['name']}"
        assert context.get("runAsNonRoot") is True and pod_context.get("runAsNonRoot") is True, where
        assert context.get("readOnlyRootFilesystem") is True, where
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("privileged", False) is False, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not context.get("capabilities", {}).get("add"), where
        for level in (pod_context, context):
            assert level.get("seccompProfile") == {"type": "RuntimeDefault"}, where
        assert container.pod.get("automountServiceAccountToken") is False, where
        assert not container.pod.get("hostNetwork") and not container.pod.get("hostPID"), where


@pytest.mark.parametrize("tree", TREES)
def test_sf_containers_run_as_the_images_user_with_writable_scratch(tree: str) -> None:
    """Read-only root: every place a role writes is a mounted volume."""
    docs = render(tree)
    config = settings(docs)
    writes = {
        "health file": str(PurePosixPath(config["SF_HEALTH_FILE"]).parent),
        "SF_DATA_DIR": config["SF_DATA_DIR"],
        "tempfile (Piper's batches)": "/tmp",
        "HOME": "/home/sf",
    }
    if "SF_ARTIFACT_DIR" in config:
        writes["SF_ARTIFACT_DIR"] = config["SF_ARTIFACT_DIR"]
    for container in sf_containers(docs):
        where = f"{tree}: {container.owner}"
        assert container.spec["securityContext"]["runAsUser"] == APP_UID, where
        assert container.pod["securityContext"]["runAsUser"] == APP_UID, where
        mounts = [m["mountPath"] for m in container.spec.get("volumeMounts", [])]
        for what, path in writes.items():
            assert any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts), (
                f"{where}: {what} ({path}) is on the read-only root; mounted: {mounts}"
            )
        assert not any(m.get("readOnly") for m in container.spec["volumeMounts"]), where


@pytest.mark.parametrize("tree", TREES)
def test_grace_period_outlasts_the_shutdown_grace(tree: str) -> None:
    docs = render(tree)
    shutdown_grace = float(settings(docs)["SF_SHUTDOWN_GRACE"])
    assert shutdown_grace == Settings().shutdown_grace  # the value the images use by default
    for doc in [*of_kind(docs, "Deployment"), *of_kind(docs, "Job")]:
        grace = doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > shutdown_grace, f"{doc['metadata']['name']}: {grace} s"


@pytest.mark.parametrize("tree", TREES)
def test_roles_are_probed_with_sf_health(tree: str) -> None:
    docs = render(tree)
    deployments = {doc["metadata"]["name"]: doc for doc in of_kind(docs, "Deployment")}
    assert set(deployments) == ROLE_DEPLOYMENTS
    for name, doc in deployments.items():
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["exec"]["command"] == ["sf", "health"], name
        startup = container["startupProbe"]
        assert startup["exec"]["command"] == ["sf", "health"], name
        # A role waits up to SF_CONNECT_TIMEOUT for the database before its first heartbeat.
        budget = startup["periodSeconds"] * startup["failureThreshold"]
        assert budget > Settings().connect_timeout, name
        assert "readinessProbe" in container, name


@pytest.mark.parametrize("tree", TREES)
def test_every_container_has_requests_and_limits(tree: str) -> None:
    for container in containers(render(tree)):
        resources = container.spec["resources"]
        for resource in ("cpu", "memory"):
            request = quantity(resources["requests"][resource])
            limit = quantity(resources["limits"][resource])
            assert 0 < request <= limit, f"{container.owner} {resource}"


def test_render_is_sized_for_an_hour_of_sleepy_video() -> None:
    """docs/performance.md: a 1 h sleepy render peaks at ~210 MB RSS; Piper's child at ~310 MB."""
    docs = render(BASE)
    peaks = {"render": 210 * 2**20, "audio": 310 * 2**20}
    for stage, peak in peaks.items():
        (container,) = named(docs, "Deployment", f"sleepy-factory-worker-{stage}")["spec"]["template"][
            "spec"
        ]["containers"]
        assert quantity(container["resources"]["requests"]["memory"]) >= peak
        assert quantity(container["resources"]["limits"]["memory"]) >= 2 * peak


@pytest.mark.parametrize("tree", TREES)
def test_secrets_are_referenced_never_inlined(tree: str) -> None:
    docs = render(tree)
    for container in containers(docs):
        for entry in container.spec.get("env", []):
            if SECRET_NAMES.search(entry["name"]):
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{container.owner}: {entry['name']}"
    for key in settings(docs):
        assert not SECRET_NAMES.search(key), f"secret-like {key} in the ConfigMap"
    generated = of_kind(docs, "Secret")
    if tree == "overlays/dev":
        assert generated, "the dev overlay generates its Secrets"
    else:
        assert generated == [], f"{tree} must not carry Secrets"


@pytest.mark.parametrize("tree", TREES)
def test_only_the_migration_sees_the_owner(tree: str) -> None:
    docs = render(tree)
    job = named(docs, "Job", "sleepy-factory-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["sf", "migrate"]
    owner_secret = container["env"][0]["valueFrom"]["secretKeyRef"]["name"]
    assert owner_secret.startswith("sleepy-factory-migrate")
    assert {e["name"] for e in container["env"]} >= {"DATABASE_URL", "SF_APP_PASSWORD"}
    assert settings(docs)["SF_APP_ROLE"]
    for other in containers(docs):
        if other.owner == "Job/sleepy-factory-migrate":
            continue
        refs = [e.get("valueFrom", {}).get("secretKeyRef", {}).get("name", "") for e in other.spec["env"]]
        assert owner_secret not in refs, other.owner
    # Ordering for Argo CD: settings and Secrets, then the migration, then the roles.
    annotations = job["metadata"]["annotations"]
    assert int(annotations["argocd.argoproj.io/sync-wave"]) < 0
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    for doc in of_kind(docs, "Deployment"):
        wave = doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0")
        assert int(wave) > int(annotations["argocd.argoproj.io/sync-wave"])


@pytest.mark.parametrize("tree", TREES)
def test_one_worker_image_one_deployment_per_stage(tree: str) -> None:
    docs = render(tree)
    workers = [d for d in of_kind(docs, "Deployment") if "worker" in d["metadata"]["name"]]
    images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in workers}
    stages = sorted(
        env_value(d["spec"]["template"]["spec"]["containers"][0], "SF_STAGE") or "" for d in workers
    )
    assert len(images) == 1
    assert stages == sorted(ALL_STAGES)
    for worker in workers:
        assert "replicas" not in worker["spec"], "KEDA owns a worker's replica count"


@pytest.mark.parametrize("tree", TREES)
def test_keda_scales_each_stage_on_its_depth(tree: str) -> None:
    docs = render(tree)
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in of_kind(docs, "ScaledObject")}
    auths = {d["metadata"]["name"]: d for d in of_kind(docs, "TriggerAuthentication")}
    secrets = {d["metadata"]["name"] for d in of_kind(docs, "Secret")}
    assert set(scaled) == {f"sleepy-factory-worker-{stage}" for stage in ALL_STAGES}
    for target, obj in scaled.items():
        (container,) = named(docs, "Deployment", target)["spec"]["template"]["spec"]["containers"]
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["type"] == "postgresql"
        # One pod per SF_CONCURRENCY stages in hand or due.
        assert trigger["metadata"]["targetQueryValue"] == env_value(container, "SF_CONCURRENCY")
        assert f"stage = '{env_value(container, 'SF_STAGE')}'" in trigger["metadata"]["query"]
        # No credentials in the trigger: they come through the TriggerAuthentication.
        assert not {"connection", "password", "connectionFromEnv"} & set(trigger["metadata"])
        auth = auths[trigger["authenticationRef"]["name"]]
        (ref,) = auth["spec"]["secretTargetRef"]
        assert ref["parameter"] == "connection"
        if tree == "overlays/dev":
            assert ref["name"] in secrets, "the generated Secret's hashed name reaches KEDA"
        assert obj["spec"]["cooldownPeriod"] >= 60
        assert obj["spec"]["pollingInterval"] <= 30
        behavior = obj["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 60
    render_scaler = scaled["sleepy-factory-worker-render"]["spec"]
    assert render_scaler["minReplicaCount"] == 0, "render scales to zero when idle"


@pytest.mark.parametrize("tree", TREES)
def test_every_deployment_has_a_disruption_budget(tree: str) -> None:
    docs = render(tree)
    budgets = of_kind(docs, "PodDisruptionBudget")
    for doc in of_kind(docs, "Deployment"):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == 1, doc["metadata"]["name"]
        # Never minAvailable on a workload that may run one pod or none: it would block drains.
        assert matching[0]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("tree", TREES)
def test_api_service_reaches_port_8080(tree: str) -> None:
    docs = render(tree)
    service = named(docs, "Service", "sleepy-factory-api")
    (container,) = named(docs, "Deployment", "sleepy-factory-api")["spec"]["template"]["spec"]["containers"]
    (port,) = service["spec"]["ports"]
    (container_port,) = [p for p in container["ports"] if p["name"] == port["targetPort"]]
    assert container_port["containerPort"] == 8080
    assert service["spec"]["selector"].items() <= container_labels(docs, "sleepy-factory-api").items()
    assert env_value(container, "SF_API_HOST") == "0.0.0.0"
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "sleepy-factory-api"


def container_labels(docs: tuple[Doc, ...], deployment: str) -> dict[str, str]:
    labels: dict[str, str] = named(docs, "Deployment", deployment)["spec"]["template"]["metadata"]["labels"]
    return labels


def test_prod_takes_artifacts_from_object_storage_behind_an_ingress() -> None:
    docs = render("overlays/prod")
    config = settings(docs)
    assert config["SF_ARTIFACT_URL"].startswith("s3://")
    assert config["SF_S3_ENDPOINT_URL"].startswith("https://")
    assert of_kind(docs, "Ingress") and not of_kind(docs, "PersistentVolumeClaim")
    for container in sf_containers(docs):
        image = container.spec["image"]
        assert re.fullmatch(r"[^:]+/sleepy-factory/[a-z]+:\d+\.\d+\.\d+", image), image


def test_dev_shares_one_volume_for_artifacts() -> None:
    docs = render("overlays/dev")
    config = settings(docs)
    assert config["SF_ARTIFACT_URL"] == "", "blank: the local store at SF_ARTIFACT_DIR"
    (claim,) = of_kind(docs, "PersistentVolumeClaim")
    for stage in ALL_STAGES:
        pod = named(docs, "Deployment", f"sleepy-factory-worker-{stage}")["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts[volume["name"]] == config["SF_ARTIFACT_DIR"]


def test_overlays_set_every_image_tag() -> None:
    for tree in OVERLAYS:
        for container in containers(render(tree)):
            image = container.spec["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{tree}: {image}"


def test_render_pods_fit_the_scaled_maximum() -> None:
    """The render maximum times its request stays a sane cluster share (a typo of 200 would not)."""
    docs = render(BASE)
    render_scaler = named(docs, "ScaledObject", "sleepy-factory-worker-render")["spec"]
    (container,) = named(docs, "Deployment", "sleepy-factory-worker-render")["spec"]["template"]["spec"][
        "containers"
    ]
    cores = render_scaler["maxReplicaCount"] * quantity(container["resources"]["requests"]["cpu"])
    assert math.isfinite(cores) and cores <= 64


def test_behind_pgbouncer_component_sets_transaction_mode_and_a_direct_listen_url(tmp_path: Path) -> None:
    overlay = tmp_path / "behind-pgbouncer"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        # Kustomize takes only relative paths to other kustomizations.
        f"resources: [{os.path.relpath(KUBERNETES / 'overlays' / 'prod', overlay)}]\n"
        f"components: [{os.path.relpath(KUBERNETES / 'components' / 'behind-pgbouncer', overlay)}]\n"
    )
    docs = render_path(overlay)
    assert settings(docs)["SF_POOL_MODE"] == "transaction"
    for doc in of_kind(docs, "Deployment"):
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        env = {entry["name"]: entry for entry in container["env"]}
        ref = env["SF_LISTEN_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "sleepy-factory-db" and ref["optional"] is True, doc["metadata"]["name"]
        assert ("DATABASE_URL" in env and "SF_STAGE" in env) or "worker" not in doc["metadata"]["name"]
    job = named(docs, "Job", "sleepy-factory-migrate")
    names = {entry["name"] for entry in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "SF_LISTEN_DATABASE_URL" not in names, "the migration connects straight to Postgres"
    for doc in docs:
        if doc["kind"] not in KEDA_KINDS:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def sync_wave(doc: Doc) -> int:
    return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


@pytest.mark.parametrize("tree", TREES)
def test_what_the_migration_needs_syncs_before_it(tree: str) -> None:
    """Argo CD applies wave by wave: the Job's namespace, account, settings, Secrets and (dev) database
    must come in an earlier wave, or the Job starts without them."""
    docs = render(tree)
    job_wave = sync_wave(named(docs, "Job", "sleepy-factory-migrate"))
    needed = [
        doc
        for doc in docs
        if doc["kind"] in ("Namespace", "ServiceAccount", "ConfigMap", "Secret")
        or doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "postgres"
    ]
    assert len(needed) >= 2
    for doc in needed:
        assert sync_wave(doc) < job_wave, f"{doc['kind']}/{doc['metadata']['name']}"


def selects(policy: Doc, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is read here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.mark.parametrize("tree", TREES)
def test_only_the_api_accepts_connections(tree: str) -> None:
    docs = render(tree)
    policies = of_kind(docs, "NetworkPolicy")
    for doc in [*of_kind(docs, "Deployment"), *of_kind(docs, "Job")]:
        labels = doc["spec"]["template"]["metadata"]["labels"]
        applied = [p for p in policies if selects(p, labels) and "Ingress" in p["spec"]["policyTypes"]]
        assert applied, f"{doc['metadata']['name']}: no ingress policy selects it"
        allowed = [rule for policy in applied for rule in policy["spec"].get("ingress", [])]
        if doc["metadata"]["name"] == "sleepy-factory-api":
            assert [p["port"] for rule in allowed for p in rule["ports"]] == ["http"]
        else:
            assert allowed == [], f"{doc['metadata']['name']} accepts connections"
