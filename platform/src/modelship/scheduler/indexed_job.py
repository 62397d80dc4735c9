"""For inputs beyond one worker: a Kubernetes Indexed Job that runs the model's own image and
its ``batch`` entrypoint, one shard per completion index (``JOB_COMPLETION_INDEX`` of
``SHARD_COUNT``). Kubernetes is the distributed engine: it retries a failed index alone.

The pod is the model repo's batch CronJob's pod (the same ConfigMap, the ``<model>-batch``
Secret, the same hardening), so what runs sharded is what runs on schedule.
"""

from __future__ import annotations

from datetime import datetime

from modelship.card import ModelCard
from modelship.settings import Settings

JOB_NAME_MAX = 63


def job_name(model: str, scheduled: datetime) -> str:
    suffix = f"-shards-{scheduled:%Y%m%d%H%M}"
    return model[: JOB_NAME_MAX - len(suffix)].rstrip("-") + suffix


def render_indexed_job(
    card: ModelCard,
    input_uri: str,
    output_uri: str,
    scheduled: datetime,
    shards: int,
    settings: Settings,
) -> dict:
    """The ``batch/v1`` Job of ``shards`` completions, ``SHARD_PARALLELISM`` at a time."""
    name, terms = card.name, card.modelship
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "batch",
        "app.kubernetes.io/managed-by": "modelship-scheduler",
        "modelship.io/model": name,
    }
    size = {"cpu": settings.shard_cpu, "memory": settings.shard_memory}
    restricted = {
        "runAsNonRoot": True,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = {
        "name": "batch",
        "image": terms.image,
        "imagePullPolicy": "Always",
        "command": ["batch"],
        "args": [
            "--input",
            input_uri,
            "--output",
            output_uri,
            "--scheduled-time",
            scheduled.isoformat(),
        ],
        # JOB_COMPLETION_INDEX is set by Kubernetes in every pod of an Indexed Job.
        "env": [{"name": "SHARD_COUNT", "value": str(shards)}],
        "envFrom": [
            {"configMapRef": {"name": name}},
            {"secretRef": {"name": f"{name}-batch"}},
        ],
        "resources": {"requests": dict(size), "limits": dict(size)},
        "securityContext": restricted,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "4Gi"}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(name, scheduled),
            "namespace": terms.namespace,
            "labels": labels,
        },
        "spec": {
            "completionMode": "Indexed",
            "completions": shards,
            "parallelism": min(shards, settings.shard_parallelism),
            "backoffLimitPerIndex": 2,
            "maxFailedIndexes": 0,
            "activeDeadlineSeconds": 86400,
            "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def shard_count(rows: int, settings: Settings) -> int:
    """Shards of at most ``SHARD_ROWS`` rows each."""
    return max(1, -(-rows // settings.shard_rows))


def create(job: dict) -> str:
    """Create the Job in its namespace with the in-cluster API (RBAC: Jobs in the models
    namespace only); answers its name."""
    from kubernetes import client, config  # only in a cluster image

    config.load_incluster_config()
    namespace = job["metadata"]["namespace"]
    client.BatchV1Api().create_namespaced_job(namespace, job)
    return job["metadata"]["name"]
