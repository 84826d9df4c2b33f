"""The Kubernetes manifests (deploy/k8s/) checked against the Kubernetes API and the code they deploy.

No cluster is needed: every object is validated offline with kubernetes-validate against the
OpenAPI schemas of a pinned Kubernetes version in strict mode (unknown fields fail), and the links
between the objects, the Dockerfile, docker-compose.yml, service/settings.py and the health routes
are checked by name. Where `kubectl` is installed, `kubectl kustomize` renders the base and the
"run without the models volume" overlay documented in pvc.yaml.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
import textwrap
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from service.settings import Limits, Settings

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
CLI = ROOT / "lexiflow" / "cli.py"

# The Kubernetes version the manifests must be valid for (offline: kubernetes-validate 1.37.0 ships the
# schemas of 1.25 ... 1.37). An older minor than the newest, so the manifests need no recent API field.
K8S_VERSION = "1.30.0"
KUSTOMIZATION = "kustomization.yaml"
DEPLOYMENT = "lexiflow-api"
MODELS_CLAIM = "lexiflow-models"


# ----- loading ---------------------------------------------------------------------------------
def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_documents() -> list[tuple[Path, dict]]:
    docs = []
    for path in manifest_files():
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                assert isinstance(doc, dict), f"{path.name}: a document is not a mapping"
                docs.append((path, doc))
    return docs


DOCS = load_documents()
OBJECTS = [(path, doc) for path, doc in DOCS if path.name != KUSTOMIZATION]


def the(kind: str, name: str | None = None) -> dict:
    found = [d for _, d in OBJECTS if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected exactly one {kind} {name or ''} in deploy/k8s, found {len(found)}"
    return found[0]


def kustomization() -> dict:
    found = [d for p, d in DOCS if p.name == KUSTOMIZATION]
    assert len(found) == 1, f"deploy/k8s needs exactly one {KUSTOMIZATION}"
    return found[0]


def pod_spec() -> dict:
    return the("Deployment", DEPLOYMENT)["spec"]["template"]["spec"]


def container() -> dict:
    containers = pod_spec()["containers"]
    assert len(containers) == 1, "the pod runs exactly one container (the API)"
    return containers[0]


def container_port() -> dict:
    ports = container()["ports"]
    assert len(ports) == 1, ports
    return ports[0]


def resolve_port(port: int | str) -> int:
    """A probe's or Service's port: a number, or the name of a container port."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container()["ports"] if p.get("name") == port]
    assert named, f"no container port is named {port!r}"
    return named[0]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def configmap_env() -> dict[str, str]:
    refs = [s["configMapRef"]["name"] for s in container().get("envFrom", []) if "configMapRef" in s]
    assert refs, "the container takes no environment from a ConfigMap"
    env: dict[str, str] = {}
    for name in refs:
        env.update(the("ConfigMap", name)["data"])
    return env


def settings_env_names() -> set[str]:
    names = {f"{Settings.model_config['env_prefix']}{n.upper()}" for n in Settings.model_fields if n != "limits"}
    names |= {f"{Limits.model_config['env_prefix']}{n.upper()}" for n in Limits.model_fields}
    return names


# ----- the Dockerfile's runtime stage (final FROM) ---------------------------------------------------
def runtime_stage() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        word, _, rest = (current + line).strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    starts = [i for i, (word, _) in enumerate(out) if word == "FROM"]
    assert starts, "no FROM in the Dockerfile"
    return out[starts[-1]:]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in runtime_stage():
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def dockerfile_one(word: str) -> str:
    found = [rest for w, rest in runtime_stage() if w == word]
    assert len(found) == 1, f"expected one {word} in the Dockerfile's final stage, found {found}"
    return found[0]


def image_uid() -> int:
    """The numeric uid of the image's USER (which the Dockerfile names, not numbers)."""
    args = dict(rest.split("=", 1) for w, rest in runtime_stage() if w == "ARG" and "=" in rest)
    user = dockerfile_one("USER").split(":")[0]
    runs = " ".join(rest for w, rest in runtime_stage() if w == "RUN")
    m = re.search(rf"useradd\b[^&;]*--uid\s+(\S+)[^&;]*\s{re.escape(user)}(?:\s|$)", runs)
    assert m, f"no `useradd --uid ... {user}` in the Dockerfile's final stage"
    uid = re.sub(r"\$\{?(\w+)\}?", lambda v: args[v.group(1)], m.group(1))
    return int(uid)


# ----- (a) every object is valid Kubernetes (strict) ---------------------------------------------------
def test_manifests_found():
    kinds = sorted(d["kind"] for _, d in OBJECTS)
    assert kinds == sorted(["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PersistentVolumeClaim",
                            "PodDisruptionBudget", "Service"]), kinds


def _doc_id(item: tuple[Path, dict]) -> str:
    path, doc = item
    return f"{path.name}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


@pytest.mark.parametrize("item", OBJECTS, ids=_doc_id)
def test_manifest_is_valid_kubernetes(item: tuple[Path, dict]):
    path, doc = item
    problem = validated = None
    try:
        validated = kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        where = ".".join(str(p) for p in e.path)
        problem = f"{path.name}: {doc['kind']} is not valid Kubernetes {e.version}: {where}: {e.message}"
    except kubernetes_validate.SchemaNotFoundError as e:  # an unknown kind/apiVersion must not pass unchecked
        problem = f"{path.name}: {e.message}"
    if problem:
        pytest.fail(problem, pytrace=False)
    assert validated == "1.30"
    assert "namespace" not in doc["metadata"], f"{path.name}: namespace-agnostic manifests name no namespace"


def test_validator_rejects_broken_manifests():
    """The check above cannot pass vacuously: strict validation catches typos, wrong types, bad enums."""
    deployment = the("Deployment", DEPLOYMENT)
    assert kubernetes_validate.validate(deployment, K8S_VERSION, strict=True) == "1.30"

    misspelled = copy.deepcopy(deployment)
    misspelled["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = (
        misspelled["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe"))
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    bad_spec_field = copy.deepcopy(deployment)
    bad_spec_field["spec"]["replica"] = 2
    configmap_number = copy.deepcopy(the("ConfigMap"))
    configmap_number["data"]["LEXIFLOW_WORKERS"] = 1  # ConfigMap values are strings: quote them
    for broken, field in ((misspelled, "readinesProbe"), (wrong_type, "'8000'"), (bad_spec_field, "replica"),
                          (configmap_number, "1")):
        with pytest.raises(kubernetes_validate.ValidationError) as info:
            kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
        assert field in info.value.message, info.value.message


def test_kustomization_lists_every_file():
    k = kustomization()
    assert k.get("apiVersion") == "kustomize.config.k8s.io/v1beta1" and k.get("kind") == "Kustomization"
    assert "namespace" not in k, "the base stays namespace-agnostic (`kubectl apply -k ... -n NS`)"
    listed = k.get("resources", [])
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    files = {str(p.relative_to(K8S)) for p in manifest_files() if p.name != KUSTOMIZATION}
    assert set(listed) == files, f"not listed: {sorted(files - set(listed))}; missing: {sorted(set(listed) - files)}"


# ----- (b) the objects point at each other ---------------------------------------------------------------
def test_deployment_selector_matches_its_pods():
    spec = the("Deployment", DEPLOYMENT)["spec"]
    selector = spec["selector"]["matchLabels"]
    assert set(spec["selector"]) == {"matchLabels"}
    assert matches(selector, spec["template"]["metadata"]["labels"])
    assert "replicas" not in spec, "the HPA owns the replica count; a fixed value resets it on every apply"


def test_service_routes_port_80_to_the_container_port():
    service = the("Service", DEPLOYMENT)
    pod_labels = the("Deployment", DEPLOYMENT)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert matches(service["spec"]["selector"], pod_labels), "the Service selects no pod of the Deployment"
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    assert resolve_port(port["targetPort"]) == container_port()["containerPort"] == 8000


def test_hpa_scales_the_deployment():
    hpa = the("HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": DEPLOYMENT}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    (metric,) = hpa["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert "cpu" in container()["resources"]["requests"], "CPU utilization is relative to the CPU request"
    down = hpa["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] >= 300, "scale down slowly: a new pod takes minutes to load"
    for policy in down["policies"]:
        assert policy["type"] == "Pods" and policy["value"] == 1 and policy["periodSeconds"] >= 60, policy


def test_pdb_protects_the_deployment_pods():
    pdb = the("PodDisruptionBudget")["spec"]
    pod_labels = the("Deployment", DEPLOYMENT)["spec"]["template"]["metadata"]["labels"]
    assert set(pdb["selector"]) == {"matchLabels"} and matches(pdb["selector"]["matchLabels"], pod_labels)
    assert pdb["minAvailable"] == 1
    assert pdb["minAvailable"] < the("HorizontalPodAutoscaler")["spec"]["minReplicas"], "drains could never evict"


def test_pods_spread_across_nodes():
    spec = pod_spec()
    pod_labels = the("Deployment", DEPLOYMENT)["spec"]["template"]["metadata"]["labels"]
    spread = [c for c in spec.get("topologySpreadConstraints", []) if c["topologyKey"] == "kubernetes.io/hostname"]
    anti = spec.get("affinity", {}).get("podAntiAffinity", {})
    anti_terms = [t.get("podAffinityTerm", t) for key in anti for t in anti[key]]
    anti_hosts = [t for t in anti_terms if t["topologyKey"] == "kubernetes.io/hostname"]
    assert spread or anti_hosts, "replicas are not spread over nodes"
    for term in spread + anti_hosts:
        assert matches(term["labelSelector"]["matchLabels"], pod_labels), term


def test_env_comes_from_existing_configmap_and_optional_secret():
    names = {d["metadata"]["name"] for _, d in OBJECTS if d["kind"] == "ConfigMap"}
    for source in container().get("envFrom", []):
        if "configMapRef" in source:
            assert source["configMapRef"]["name"] in names
        else:  # a Secret the user may create (API keys): the pod must start without it
            assert source["secretRef"].get("optional") is True, source
    assert pod_spec().get("enableServiceLinks") is False, (
        "service links inject <SERVICE>_PORT=tcp://... variables; a Service named `lexiflow` would set LEXIFLOW_PORT")


# ----- (c) against the image and the code ---------------------------------------------------------------
def test_image_and_port_are_the_dockerfiles():
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert container()["image"] == compose["services"]["api"]["image"] == "lexiflow:latest"
    exposed = [int(p.split("/")[0]) for p in dockerfile_one("EXPOSE").split()]
    env = {**dockerfile_env(), **configmap_env()}
    assert container_port()["containerPort"] in exposed
    assert container_port()["containerPort"] == int(env["LEXIFLOW_PORT"])
    assert env["LEXIFLOW_HOST"] == "0.0.0.0", "the pod's port is only reachable if the server binds all addresses"
    assert container_port().get("protocol", "TCP") == "TCP"


def test_probes_hit_the_health_routes_on_the_container_port():
    from service.routes.health import router

    routes = {r.path for r in router().routes if "GET" in getattr(r, "methods", ())}
    expected = {"startupProbe": "/livez", "livenessProbe": "/livez", "readinessProbe": "/readyz"}
    open_paths = Settings().open_paths  # probes send no API key: their paths must stay open
    for probe, path in expected.items():
        get = container()[probe]["httpGet"]
        assert get["path"] == path, f"{probe} should GET {path}, not {get['path']}"
        assert get["path"] in routes, f"{get['path']} is not a route of the app"
        assert get["path"] in open_paths, f"{get['path']} would need an API key once LEXIFLOW_API_KEYS is set"
        assert resolve_port(get["port"]) == container_port()["containerPort"], probe
        assert get.get("scheme", "HTTP") == "HTTP"
    startup = container()["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, "allow ~2 minutes to start"


def test_shutdown_drains_within_the_grace_period():
    spec = pod_spec()
    assert spec["terminationGracePeriodSeconds"] == 30
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2, command
    m = re.search(r"timeout_graceful_shutdown\s*=\s*(\d+)", CLI.read_text(encoding="utf-8"))
    assert m, "lexiflow/cli.py no longer sets uvicorn's timeout_graceful_shutdown"
    assert 0 < int(command[1]) and int(command[1]) + int(m.group(1)) < spec["terminationGracePeriodSeconds"], (
        "preStop sleep + uvicorn's drain must end before the kubelet's SIGKILL")


def test_resources_match_the_compose_file():
    resources = container()["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert resources["limits"] == {"cpu": "2", "memory": "4Gi"}
    reservations = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["api"]["deploy"]["resources"]
    assert float(reservations["limits"]["cpus"]) == float(resources["limits"]["cpu"])
    assert float(reservations["reservations"]["cpus"]) * 1000 == int(resources["requests"]["cpu"].removesuffix("m"))


def test_configmap_names_only_settings_fields():
    env = configmap_env()
    unknown = sorted(set(env) - settings_env_names())
    assert not unknown, f"not Settings/Limits fields (silently ignored by the service): {unknown}"


def test_configmap_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch):
    env = configmap_env()
    for key in list(os.environ):
        if key.startswith("LEXIFLOW_"):
            monkeypatch.delenv(key)
    for key, value in {**dockerfile_env(), **env}.items():
        if key.startswith("LEXIFLOW_") and key not in ("LEXIFLOW_ARTIFACTS_DIR", "LEXIFLOW_CACHE_DIR"):
            monkeypatch.setenv(key, value)  # (the image's paths do not exist here)
    settings = Settings()  # raises on any invalid value
    assert settings.workers == 1
    cpu_limit = float(container()["resources"]["limits"]["cpu"])
    assert settings.effective_torch_threads * settings.workers == cpu_limit, "torch threads x workers = CPU limit"


def test_configmap_has_the_compose_defaults():
    compose_env = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["api"]["environment"]
    defaults = {}
    for key, value in compose_env.items():
        m = re.fullmatch(r"\$\{(\w+):-(.*)\}", str(value))
        defaults[key] = m.group(2) if m else str(value)
    assert configmap_env().items() >= defaults.items(), (
        f"differs from docker-compose.yml: {sorted(set(defaults.items()) - set(configmap_env().items()))}")


def test_pod_security_is_restricted():
    pod = pod_spec().get("securityContext", {})
    ctr = container().get("securityContext", {})
    effective = {**pod, **ctr}  # container settings override the pod's
    uid = image_uid()
    assert effective["runAsNonRoot"] is True
    assert effective["runAsUser"] == uid, f"the image's user has uid {uid} (Dockerfile USER/useradd)"
    assert effective.get("runAsGroup", uid) == uid
    assert ctr["allowPrivilegeEscalation"] is False
    assert ctr["readOnlyRootFilesystem"] is True
    assert ctr["capabilities"]["drop"] == ["ALL"] and not ctr["capabilities"].get("add")
    assert effective["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_spec().get("automountServiceAccountToken") is False
    assert not pod_spec().get("hostNetwork") and not pod_spec().get("hostPID")


def test_volumes_tmp_writable_and_models_read_only():
    spec = pod_spec()
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container()["volumeMounts"]}
    assert set(mounts) == {"/tmp", dockerfile_env()["LEXIFLOW_ARTIFACTS_DIR"]}
    tmp = mounts["/tmp"]
    assert "emptyDir" in volumes[tmp["name"]] and not tmp.get("readOnly")
    assert dockerfile_env()["HOME"].startswith("/tmp"), "the read-only root needs HOME (caches) under /tmp"

    artifacts_dir = {**dockerfile_env(), **configmap_env()}["LEXIFLOW_ARTIFACTS_DIR"]
    models = mounts[artifacts_dir]
    assert models["readOnly"] is True
    claim = volumes[models["name"]]["persistentVolumeClaim"]
    assert claim == {"claimName": MODELS_CLAIM, "readOnly": True}
    pvc = the("PersistentVolumeClaim", MODELS_CLAIM)["spec"]
    assert pvc["accessModes"] == ["ReadOnlyMany"]
    # the image bakes the artifacts in at the same path, so the claim only replaces them
    assert f"COPY artifacts {artifacts_dir}" in {f"{w} {r}" for w, r in runtime_stage()}


# ----- (d) kubectl kustomize, where kubectl is installed ---------------------------------------------------
def kubectl_kustomize(folder: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def test_kustomize_renders_every_object():
    rendered = kubectl_kustomize(K8S)
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rendered) == sorted(
        (d["kind"], d["metadata"]["name"]) for _, d in OBJECTS)


def test_overlay_without_models_volume_renders(tmp_path: Path):
    """pvc.yaml documents an overlay that runs on the artifacts baked into the image: it must work."""
    text = (K8S / "pvc.yaml").read_text(encoding="utf-8")
    m = re.search(r"^#   resources:.*?(?=^#\s*$)", text, re.S | re.M)
    assert m, "pvc.yaml no longer shows the overlay that drops the models volume"
    overlay = textwrap.dedent("\n".join(line[1:] for line in m.group(0).splitlines()))
    shutil.copytree(K8S, tmp_path / "k8s")
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / KUSTOMIZATION).write_text(overlay, encoding="utf-8")
    rendered = kubectl_kustomize(tmp_path / "overlay")
    assert "PersistentVolumeClaim" not in {d["kind"] for d in rendered}
    (deployment,) = [d for d in rendered if d["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    assert [v["name"] for v in spec["volumes"]] == ["tmp"]
    assert [m["mountPath"] for m in spec["containers"][0]["volumeMounts"]] == ["/tmp"]
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
