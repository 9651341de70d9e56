"""Each check fails on a broken manifest: copy infra/k8s, break one thing, assert it is reported."""

import shutil
import subprocess
from pathlib import Path

import pytest

import manifests as m

CHECK_SH = m.ROOT / "infra" / "check.sh"


def mutated(tmp_path: Path, file: str, old: str, new: str) -> Path:
    k8s = tmp_path / "k8s"
    shutil.copytree(m.K8S, k8s)
    target = k8s / file
    text = target.read_text()
    assert old in text, f"mutation does not apply: {old!r} not in {file}"
    target.write_text(text.replace(old, new))
    return k8s


# (file, old, new, expected problem) — one per check, each a plausible mistake.
MUTATIONS = {
    "container port differs from the listen address": (
        "base/ml.yaml", "containerPort: 50051", "containerPort: 50052", "STRATA_ML_LISTEN port 50051 != containerPort"),
    "service listens on loopback": (
        "base/kustomization.yaml", "STRATA_API_LISTEN=0.0.0.0:8080", "STRATA_API_LISTEN=127.0.0.1:8080",
        "is not reachable from outside the pod"),
    "ML metrics on loopback": (
        "base/kustomization.yaml", "STRATA_ML_METRICS_LISTEN=0.0.0.0:9464", "STRATA_ML_METRICS_LISTEN=127.0.0.1:9464",
        "is not reachable on containerPort metrics"),
    "API metrics on loopback": (
        "base/kustomization.yaml", "STRATA_API_METRICS_LISTEN=0.0.0.0:9465", "STRATA_API_METRICS_LISTEN=127.0.0.1:9465",
        "STRATA_API_METRICS_LISTEN=127.0.0.1:9465 is not reachable on containerPort metrics"),
    "ServiceMonitor scrapes the public port": (
        "components/monitoring/service-monitors.yaml", "    - port: metrics\n      path: /metrics\n      interval: 15s\n---",
        "    - port: http\n      path: /metrics\n      interval: 15s\n---", "scrapes port http"),
    "Ingress routes to a metrics port": (
        "overlays/prod/ingress.yaml", "name: strata-api\n                port:\n                  name: http",
        "name: strata-api\n                port:\n                  name: metrics", "to a metrics port"),
    "alert reads a metric no service exports": (
        "components/monitoring/alerts.yaml", "strata_inference_queue_capacity)", "strata_inference_queue_limit)",
        "PrometheusRule/strata: metric strata_inference_queue_limit is exported by no service"),
    "API points at a wrong ML port": (
        "base/kustomization.yaml", "STRATA_ML_URL=https://strata-ml:50051", "STRATA_ML_URL=https://strata-ml:5051",
        "has no port 5051"),
    "web points at a missing Service": (
        "base/kustomization.yaml", "STRATA_API_URL=http://strata-api:8080", "STRATA_API_URL=http://api:8080",
        "names no Service"),
    "env name the service does not read": (
        "base/kustomization.yaml", "STRATA_DEVICE=cpu", "STRATA_DEVICES=cpu", "env STRATA_DEVICES is not read"),
    "web PORT disagrees with its port": ("base/kustomization.yaml", "PORT=3000", "PORT=3001", "PORT=3001"),
    "readiness path that is no route": (
        "base/api.yaml", "path: /readyz", "path: /ready", "readinessProbe path /ready is not a route"),
    "gRPC probe on the TLS port (the kubelet's probe cannot do mutual TLS)": (
        "base/ml.yaml", "grpc:\n              port: 50052\n            periodSeconds: 10",
        "grpc:\n              port: 50051\n            periodSeconds: 10",
        "readinessProbe gRPC port 50051 does not answer a plaintext probe"),
    "plaintext health listener on loopback": (
        "base/kustomization.yaml", "STRATA_ML_HEALTH_LISTEN=0.0.0.0:50052", "STRATA_ML_HEALTH_LISTEN=127.0.0.1:50052",
        "livenessProbe gRPC port 50052 does not answer a plaintext probe"),
    "ML service does not require client certificates": (
        "base/kustomization.yaml", "      - STRATA_ML_TLS_CLIENT_CA=/etc/strata-ml/tls/ca.crt\n", "",
        "overlays/prod: Deployment/strata-ml: STRATA_ML_TLS_CLIENT_CA is not set"),
    "API dials the ML service in plaintext": (
        "base/kustomization.yaml", "STRATA_ML_URL=https://strata-ml:50051", "STRATA_ML_URL=http://strata-ml:50051",
        "overlays/gpu: Deployment/strata-api: STRATA_ML_URL=http://strata-ml:50051 is not https"),
    "API presents no client certificate": (
        "base/kustomization.yaml", "      - STRATA_ML_CLIENT_CERT=/etc/strata-api/ml-tls/tls.crt\n", "",
        "overlays/prod: Deployment/strata-api: STRATA_ML_CLIENT_CERT is not set"),
    "API's certificates are not where the Secret is mounted": (
        "base/api.yaml", "mountPath: /etc/strata-api/ml-tls", "mountPath: /etc/strata-api/tls",
        "STRATA_ML_CA=/etc/strata-api/ml-tls/ca.crt is not a file of a mounted Secret"),
    "dev serves the API's client certificate as the ML service's": (
        "overlays/dev/kustomization.yaml", "- tls.crt=ml-tls/ml/tls.crt\n      - tls.key=ml-tls/ml/tls.key",
        "- tls.crt=ml-tls/api/tls.crt\n      - tls.key=ml-tls/api/tls.key",
        "overlays/dev: Deployment/strata-ml, Deployment/strata-api: the ML service's certificate does not verify"),
    "dev's ML key is not its certificate's": (
        "overlays/dev/kustomization.yaml", "- tls.key=ml-tls/ml/tls.key", "- tls.key=ml-tls/api/tls.key",
        "STRATA_ML_TLS_KEY is not the key of STRATA_ML_TLS_CERT"),
    "image name that Bazel does not build": (
        "base/api.yaml", "image: strata-api", "image: strata-gateway", "image strata-gateway is no Bazel image"),
    "dev tag that oci_load does not produce": (
        "overlays/dev/kustomization.yaml", "newTag: dev\n  - name: strata-api", "newTag: latest\n  - name: strata-api",
        "oci_load tags it dev"),
    "Service targets a missing port name": (
        "base/web.yaml", "targetPort: http", "targetPort: web", "targetPort web is no container port"),
    "root user": ("base/web.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot must be true"),
    "user differs from the image's": ("base/ml.yaml", "runAsUser: 65532", "runAsUser: 1000", "runAsUser 1000"),
    "writable root filesystem": (
        "base/api.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"),
    "no memory limit": (
        "base/web.yaml", "cpu: \"1\"\n              memory: 512Mi", "cpu: \"1\"", "has no limits.memory"),
    "shared volume not RWX": (
        "components/shared-volume/data-volume.yaml", "- ReadWriteMany", "- ReadWriteOnce", "must be ReadWriteMany"),
    "data dir not on the volume": (
        "base/kustomization.yaml", "STRATA_DATA_DIR=/data", "STRATA_DATA_DIR=/srv/data",
        "STRATA_DATA_DIR=/srv/data is not on a mounted"),
    "training Job writes models off the shared volume": (
        "jobs/training/kustomization.yaml", "STRATA_STORE=/data/artifacts", "STRATA_STORE=/tmp/artifacts",
        "STRATA_STORE at /tmp/artifacts is not on a PersistentVolumeClaim (emptyDir"),
    "dev keeps SQLite metadata and artifacts on scratch space": (
        "overlays/dev/kustomization.yaml", "  - ../../components/shared-volume\n", "",
        "overlays/dev: Deployment/strata-ml: SQLite metadata at /data/meta.db is not on a PersistentVolumeClaim"),
    "file:// artifacts off the shared volume": (
        "components/postgres/kustomization.yaml", "artifact-url=file:///data/artifacts", "artifact-url=file:///tmp/a",
        "the artifact store at /tmp/a is not on a PersistentVolumeClaim"),
    "API's SQLite file off its volume": (
        "base/kustomization.yaml", "STRATA_METADATA_URL=sqlite:/var/lib/strata-api/meta.db",
        "STRATA_METADATA_URL=sqlite:/srv/meta.db",
        "STRATA_METADATA_URL (users, API keys) at /srv/meta.db is not on a mounted volume"),
    "API on its default SQLite file (relative to a read-only root)": (
        "base/kustomization.yaml", "      - STRATA_METADATA_URL=sqlite:/var/lib/strata-api/meta.db\n", "",
        "Deployment/strata-api: STRATA_METADATA_URL (users, API keys) at .strata/api/meta.db is not on a mounted"),
    "dev keeps users on the API pod's scratch space": (
        "base/kustomization.yaml", "STRATA_METADATA_URL=sqlite:/var/lib/strata-api/meta.db",
        "STRATA_METADATA_URL=sqlite:/var/spool/strata-api/meta.db",
        "overlays/dev: Deployment/strata-api: STRATA_METADATA_URL (users, API keys) at "
        "/var/spool/strata-api/meta.db is not on a PersistentVolumeClaim (emptyDir"),
    "a ReadWriteOnce claim with rolling updates": (
        "components/api-state/api-volume.yaml", "type: Recreate", "type: RollingUpdate",
        "Deployment/strata-api: mounts the ReadWriteOnce claim strata-api-state, so it needs one replica and strategy"),
    "prod renders the shared volume": (
        "overlays/prod/kustomization.yaml", "  - ../../components/scale-out\n",
        "  - ../../components/scale-out\n  - ../../components/shared-volume\n",
        "overlays/prod: PersistentVolumeClaim/strata-data: prod keeps no state on volumes"),
    "API replicas keep users in their own SQLite files": (
        "components/scale-out/kustomization.yaml", "  - path: api.yaml\n", "",
        "overlays/prod: Deployment/strata-api: several replicas would each keep their own SQLite file"),
    "API reads another database than the ML service": (
        "components/scale-out/api.yaml", "key: metadata-url", "key: artifact-url",
        "strata-api and strata-ml read different metadata databases"),
    "ML service's metadata from another Secret in prod": (
        "components/scale-out/ml.yaml", "name: strata-ml-scale-out\n                  key: metadata-url",
        "name: strata-ml-db\n                  key: metadata-url",
        "Deployment/strata-ml: STRATA_METADATA_URL does not come from Secret strata-ml-scale-out key metadata-url"),
    "ML service reads the API's database Secret": (
        "components/scale-out/ml.yaml", "name: strata-ml-scale-out\n                  key: metadata-url",
        "name: strata-api-scale-out\n                  key: metadata-url",
        "overlays/prod: Deployment/strata-ml can read Secret strata-api-scale-out"),
    "ML service connects as the database's owner": (
        "components/postgres/kustomization.yaml", "metadata-url=postgres://strata_ml:strata-ml-dev-only@",
        "metadata-url=postgres://strata:strata-dev-only@",
        "Deployment/strata-ml: connects as strata, the owner of StatefulSet/strata-postgres's database"),
    "ML role's password differs from its URL's": (
        "components/postgres/initdb/ml-role.sql", "PASSWORD 'strata-ml-dev-only'", "PASSWORD 'other'",
        "the password in STRATA_METADATA_URL is not the one the initdb script gives strata_ml"),
    "no initdb script creates the ML role": (
        "components/postgres/postgres.yaml", "mountPath: /docker-entrypoint-initdb.d", "mountPath: /initdb",
        "StatefulSet/strata-postgres: no initdb script creates role strata_ml"),
    "ML role created as a superuser": (
        "components/postgres/initdb/ml-role.sql", "LOGIN PASSWORD", "LOGIN SUPERUSER PASSWORD",
        "StatefulSet/strata-postgres: role strata_ml is created with ['SUPERUSER']"),
    "initdb grants the ML role the users table": (
        "components/postgres/initdb/ml-role.sql", "LOGIN PASSWORD 'strata-ml-dev-only';",
        "LOGIN PASSWORD 'strata-ml-dev-only';\nGRANT SELECT ON users TO strata_ml;",
        "the initdb script grants strata_ml SELECT ON users"),
    "database URL names a missing Service": (
        "components/postgres/kustomization.yaml", "@strata-postgres:5432", "@postgres:5432",
        "STRATA_METADATA_URL host postgres names no Service"),
    "database Service port differs from the URL": (
        "components/postgres/postgres.yaml", "port: 5432\n      targetPort: postgres",
        "port: 5433\n      targetPort: postgres", "Service strata-postgres has no port 5432"),
    "database password differs from the URL's": (
        "components/postgres/kustomization.yaml", "password=strata-dev-only", "password=changed-here-only",
        "the password in STRATA_METADATA_URL is not POSTGRES_PASSWORD of StatefulSet/strata-postgres"),
    "database user differs from the URL's": (
        "components/postgres/postgres.yaml", "POSTGRES_USER\n              value: strata",
        "POSTGRES_USER\n              value: app", "STRATA_METADATA_URL user strata is not POSTGRES_USER app"),
    "web reaches the database": (
        "components/postgres/network-policy.yaml", "app.kubernetes.io/name: strata-api\n      ports",
        "app.kubernetes.io/name: strata-web\n      ports",
        "StatefulSet/strata-postgres: NetworkPolicies let ['strata-ml', 'strata-web'] reach the database"),
    # Every overlay denies ingress by default, so without its policy nothing reaches the database.
    "no policy lets the services reach the database": (
        "components/postgres/kustomization.yaml", "  - network-policy.yaml\n", "",
        "NetworkPolicies let [] reach the database"),
    "prod denies egress to the database": (
        "base/network-policies.yaml", "name: default-deny-ingress\nspec:\n  podSelector: {}\n  policyTypes:\n"
        "    - Ingress\n", "name: default-deny-ingress\nspec:\n  podSelector: {}\n  policyTypes:\n    - Ingress\n"
        "    - Egress\n", "Deployment/strata-api: NetworkPolicies deny egress to the metadata database's port 5432"),
    "database image not pinned": (
        "components/postgres/postgres.yaml", "image: postgres:17.9-bookworm", "image: postgres:17",
        "image postgres:17 is not pinned"),
    "database as another user than the image's": (
        "components/postgres/postgres.yaml", "runAsUser: 999", "runAsUser: 70",
        "StatefulSet/strata-postgres: runAsUser 70 != the image's user 999"),
    "database with a writable root filesystem": (
        "components/postgres/postgres.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false",
        "StatefulSet/strata-postgres: postgres needs readOnlyRootFilesystem"),
    "database env its image does not read": (
        "components/postgres/postgres.yaml", "name: PGDATA", "name: POSTGRES_DATA",
        "env POSTGRES_DATA is not read by postgres"),
    "database without a readiness probe": (
        "components/postgres/postgres.yaml", "readinessProbe:", "readinessProbeX:",
        "StatefulSet/strata-postgres: no readinessProbe"),
    "overlay resources outside the namespace": (
        "overlays/prod/kustomization.yaml", "namespace: strata\n", "",
        "Ingress/strata: namespace None, not strata"),
    "GPU toleration for the wrong taint": (
        "components/gpu/gpu-pod.yaml", "key: nvidia.com/gpu", "key: gpu", "does not tolerate the nvidia.com/gpu"),
    "no GPU limit": (
        "components/gpu/gpu-pod.yaml", "/resources/limits/nvidia.com~1gpu", "/resources/limits/gpu",
        "no nvidia.com/gpu limit"),
    "CPU image on the GPU pool": (
        "components/gpu/kustomization.yaml", "newName: strata-ml-cuda", "newName: strata-ml",
        "is not the CUDA build"),
    "web app may land on GPU nodes": (
        "components/gpu/cpu-pool.yaml", "operator: NotIn", "operator: In", "keeping it off the GPU pool"),
    "web reaches the ML service": (
        "base/network-policies.yaml",
        "podSelector:\n            matchLabels:\n              app.kubernetes.io/name: strata-api\n      ports:\n"
        "        - port: grpc",
        "podSelector:\n            matchLabels:\n              app.kubernetes.io/name: strata-web\n      ports:\n"
        "        - port: grpc",
        "only strata-api"),
    "HPA fights a fixed replica count": (
        "overlays/prod/kustomization.yaml", "name: strata-(api|ml)", "name: strata-api",
        "Deployment/strata-ml: sets replicas although an HPA scales it"),
    "PDB selects nothing": (
        "overlays/prod/disruption-budgets.yaml", "app.kubernetes.io/name: strata-web", "app.kubernetes.io/name: web",
        "Deployment/strata-web: no PodDisruptionBudget"),
    "ServiceMonitor scrapes a missing port": (
        "components/monitoring/service-monitors.yaml", "- port: metrics", "- port: prometheus", "has no port prometheus"),
    "dashboard reads a metric nobody exports": (
        "components/monitoring/dashboards/strata.json", "strata_grpc_requests_total", "strata_grpc_request_total",
        "metric strata_grpc_request_total is exported by no service"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_check_reports_the_broken_manifest(case, tmp_path, facts, dashboard):
    file, old, new, expected = MUTATIONS[case]
    k8s = mutated(tmp_path, file, old, new)
    renders = m.render_all(k8s, m.renders_using(file))
    dash = __import__("json").loads((k8s / "components/monitoring/dashboards/strata.json").read_text())
    problems = m.all_problems(renders, facts, dash)
    assert any(expected in p for p in problems), f"{case}: expected {expected!r} in {problems}"


def test_a_service_renaming_its_env_var_breaks_the_manifests(renders, facts, dashboard):
    # The other direction: the code changes, the manifests do not.
    changed = m.clone_facts(facts)
    changed.env[m.ML].discard("STRATA_DATA_DIR")
    changed.env[m.ML].add("STRATA_DATA_PATH")
    problems = m.all_problems(renders, changed, dashboard)
    assert any("env STRATA_DATA_DIR is not read by strata-ml" in p for p in problems)


def test_a_route_removed_from_the_api_breaks_the_probes(renders, facts, dashboard):
    changed = m.clone_facts(facts)
    changed.routes.discard("/healthz")
    problems = m.all_problems(renders, changed, dashboard)
    assert any("livenessProbe path /healthz is not a route" in p for p in problems)


def test_a_migration_granting_the_ml_role_users_breaks_the_manifests(renders, facts, dashboard):
    # The other direction for the database role: a migration of libs/strata-meta grants the ML
    # service's role a table of the API's.
    changed = m.clone_facts(facts)
    changed.db_grants["strata_ml"].add("users")
    problems = m.all_problems({"overlays/dev-postgres": renders["overlays/dev-postgres"]}, changed, dashboard)
    assert any("the migrations grant role strata_ml ['users']" in p for p in problems), problems
    assert m.migration_grants(m.ROOT / "libs" / "strata-meta" / "migrations" / "postgres") == facts.db_grants


def test_a_pending_name_the_services_now_provide_must_leave_the_list(renders, facts, dashboard):
    # (An entry left behind after the `strata` CLI, which the training Job runs, landed.)
    changed = m.clone_facts(facts)
    changed.pending["binaries"] = ["strata"]
    problems = m.check_pending(changed, renders, dashboard)
    assert any("binaries strata exists in the sources now" in p for p in problems)


def test_a_job_env_the_program_it_runs_does_not_read_is_caught(renders, facts, dashboard):
    # The training Job runs the CLI from strata-ml's image: its env is checked against the CLI's.
    changed = m.clone_facts(facts)
    changed.env["strata-cli"].discard("STRATA_STORE")
    problems = m.all_problems(renders, changed, dashboard)
    assert any("env STRATA_STORE is not read by strata-cli" in p for p in problems)


def test_a_job_command_missing_from_its_image_is_caught(renders, facts, dashboard):
    changed = m.clone_facts(facts)
    changed.images[m.ML].binaries.discard("strata")
    problems = m.all_problems(renders, changed, dashboard)
    assert any("command /app/strata is not in image strata-ml's layers" in p for p in problems)


def test_a_pending_name_nothing_uses_must_leave_the_list(renders, facts, dashboard):
    changed = m.clone_facts(facts)
    changed.pending["env"] = ["STRATA_UNUSED"]
    assert any("env STRATA_UNUSED is used by no manifest" in p for p in m.check_pending(changed, renders, dashboard))


LINT_MUTATIONS = {
    "kustomize: missing resource": ("overlays/prod/kustomization.yaml", "- ingress.yaml", "- ingres.yaml",
                                    "FAIL kustomize build overlays/prod/"),
    "kubernetes-validate: unknown field": ("base/api.yaml", "terminationGracePeriodSeconds: 40",
                                           "terminationGracePeriodSeconds: 40\n      restartPolicyy: Always",
                                           "FAIL kubernetes-validate --strict overlays/dev/"),
    "kubernetes-validate: wrong type": ("overlays/prod/autoscaling.yaml", "minReplicas: 2", "minReplicas: two",
                                        "FAIL kubernetes-validate --strict overlays/prod/"),
    "yamllint: duplicate key": ("base/namespace.yaml", "  name: strata", "  name: strata\n  name: strata2",
                                "FAIL yamllint"),
}


def test_lint_passes_on_the_real_manifests(tmp_path):
    out = subprocess.run([str(CHECK_SH), "--lint-only", str(m.K8S)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("case", sorted(LINT_MUTATIONS))
def test_lint_reports_the_broken_manifest(case, tmp_path):
    file, old, new, expected = LINT_MUTATIONS[case]
    k8s = mutated(tmp_path, file, old, new)
    out = subprocess.run([str(CHECK_SH), "--lint-only", str(k8s)], capture_output=True, text=True)
    assert out.returncode != 0 and expected in out.stdout, out.stdout + out.stderr
