"""Policy over rendered manifests: each function returns the violations it finds, as text.

Pods must be restricted (non-root, read-only root filesystem, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp, no service-account token) and sized (requests
and limits); selectors must select the pods they are meant for; probes must hit real routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Doc = dict[str, Any]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def name_of(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def pod_templates(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """(workload name, pod template) of every workload."""
    for doc in docs:
        if doc["kind"] == "CronJob":
            yield name_of(doc), doc["spec"]["jobTemplate"]["spec"]["template"]
        elif doc["kind"] in WORKLOADS:
            yield name_of(doc), doc["spec"]["template"]


def _containers(pod: Doc) -> list[Doc]:
    spec = pod["spec"]
    return spec.get("initContainers", []) + spec.get("containers", [])


def restricted_violations(docs: list[Doc]) -> list[str]:
    """Containers that are not restricted, or not sized, and pods that get a token."""
    found = [
        f"{name_of(d)}: automountServiceAccountToken is not false"
        for d in docs
        if d["kind"] == "ServiceAccount" and d.get("automountServiceAccountToken") is not False
    ]
    for workload, pod in pod_templates(docs):
        spec = pod["spec"]
        pod_sc = spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            found.append(f"{workload}: automountServiceAccountToken is not false")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                found.append(f"{workload}: {host} is on")
        for container in _containers(pod):
            where = f"{workload} container {container['name']}"
            sc = container.get("securityContext", {})
            if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
                found.append(f"{where}: runAsNonRoot is not true")
            if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                found.append(f"{where}: runs as uid 0")
            if sc.get("privileged"):
                found.append(f"{where}: privileged")
            if sc.get("allowPrivilegeEscalation") is not False:
                found.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                found.append(f"{where}: readOnlyRootFilesystem is not true")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []) or caps.get("add"):
                found.append(f"{where}: capabilities are not all dropped")
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
            if seccomp.get("type") != "RuntimeDefault":
                found.append(f"{where}: seccompProfile is not RuntimeDefault")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(part, {}))
                if missing:
                    found.append(f"{where}: no {part} for {sorted(missing)}")
            if not any(m["mountPath"] == "/tmp" for m in container.get("volumeMounts", [])):
                found.append(f"{where}: /tmp is not a mounted volume")
    return found


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _label_selector(selector: Doc) -> dict[str, str]:
    assert not selector.get("matchExpressions"), "matchExpressions are not checked here"
    return selector.get("matchLabels", {})


def selector_violations(docs: list[Doc]) -> list[str]:
    """Selectors that select no pod of their own, or the wrong pods."""
    found = []
    pods = {workload: pod["metadata"].get("labels", {}) for workload, pod in pod_templates(docs)}
    servers = {w: labels for w, labels in pods.items() if w.startswith("Deployment/")}
    for doc in docs:
        kind, spec = doc["kind"], doc.get("spec", {})
        if kind == "Deployment":
            if not _selects(_label_selector(spec["selector"]), pods[name_of(doc)]):
                found.append(f"{name_of(doc)}: selector does not match its pod template")
            for constraint in spec["template"]["spec"].get("topologySpreadConstraints", []):
                if not _selects(_label_selector(constraint["labelSelector"]), pods[name_of(doc)]):
                    found.append(f"{name_of(doc)}: a topology spread selects other pods")
        selector = {
            "Service": lambda s: s.get("selector", {}),
            "PodDisruptionBudget": lambda s: _label_selector(s["selector"]),
        }.get(kind)
        if selector is not None:
            chosen = [w for w, labels in pods.items() if _selects(selector(spec), labels)]
            if not chosen or any(w not in servers for w in chosen):
                found.append(f"{name_of(doc)}: selects {chosen or 'no pod'}, not the server pods")
        if kind == "NetworkPolicy":
            chosen = [
                w for w, lb in pods.items() if _selects(_label_selector(spec["podSelector"]), lb)
            ]
            if not set(servers) <= set(chosen):
                found.append(f"{name_of(doc)}: podSelector misses the server pods")
        if kind == "HorizontalPodAutoscaler":
            target = f"{spec['scaleTargetRef']['kind']}/{spec['scaleTargetRef']['name']}"
            if target not in servers:
                found.append(f"{name_of(doc)}: scales {target}, which is not rendered")
    return found


def probe_violations(docs: list[Doc], routes: frozenset[str]) -> list[str]:
    """Servers without the three probes, and probes on paths the app does not serve."""
    found = []
    for workload, pod in pod_templates(docs):
        for container in pod["spec"]["containers"]:
            ports = {p.get("name") for p in container.get("ports", [])}
            ports |= {p["containerPort"] for p in container.get("ports", [])}
            probes = {
                k: container[k]
                for k in ("startupProbe", "readinessProbe", "livenessProbe")
                if k in container
            }
            if workload.startswith("Deployment/") and len(probes) != 3:
                found.append(f"{workload}: needs startup, readiness and liveness probes")
            for kind, probe in probes.items():
                http = probe.get("httpGet")
                if http is None:
                    found.append(f"{workload} {kind}: not an HTTP probe")
                    continue
                if http["path"] not in routes:
                    found.append(f"{workload} {kind}: {http['path']} is not a route of the app")
                if http["port"] not in ports:
                    found.append(f"{workload} {kind}: port {http['port']} is not a container port")
    return found


def secret_references(pod: Doc) -> set[str]:
    """The Secrets a pod template reads: envFrom, env valueFrom, volumes and pull secrets."""
    spec = pod["spec"]
    names = {s["name"] for s in spec.get("imagePullSecrets", [])}
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                names.add(source["secret"]["name"])
    for container in _containers(pod):
        names |= {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
    return names
