"""The real manifests agree with the services' code, the Bazel images and each other."""

import re
import shutil
from urllib.parse import urlsplit

import pytest

import manifests as m


def test_facts_are_read_from_the_sources(facts):
    # If a parser silently found nothing, every later check would pass vacuously.
    assert {"STRATA_ML_LISTEN", "STRATA_ML_METRICS_LISTEN", "STRATA_DATA_DIR", "STRATA_DEVICE",
            "STRATA_METADATA_URL", "STRATA_ARTIFACT_URL"} <= facts.env[m.ML]
    assert {"STRATA_API_LISTEN", "STRATA_API_METRICS_LISTEN", "STRATA_ML_URL", "STRATA_METADATA_URL"} <= facts.env[m.API]
    assert {"STRATA_API_URL", "PORT", "HOSTNAME"} <= facts.env[m.WEB]
    assert {"/healthz", "/readyz", "/metrics"} <= facts.routes
    assert {"strata_http_requests_total", "strata_grpc_request_duration_seconds"} <= facts.literals
    assert "/" in facts.web_pages
    assert {"strata-ml", "strata-api"} <= set(facts.binaries)
    assert set(facts.images) == {"strata-ml", "strata-ml-cuda", "strata-api", "strata-web"}
    assert facts.ml_serves_grpc_health


@pytest.mark.parametrize("name", sorted(m.RENDERS))
def test_render_agrees_with_the_code(name, renders, facts, dashboard):
    problems = m.all_problems({name: renders[name]}, facts, dashboard)
    problems = [p for p in problems if not p.startswith("pending.yaml")]
    assert problems == []


def test_every_overlay_runs_all_three_services(renders):
    for name in ("overlays/dev", "overlays/dev-postgres", "overlays/gpu", "overlays/prod"):
        deployments = {d["metadata"]["name"] for d in m.by_kind(renders[name], "Deployment")}
        assert deployments == {m.ML, m.API, m.WEB}, name


def test_demo_content_only_in_the_dev_overlays(renders):
    # Demo datasets and models belong on a developer's cluster, never in production.
    for name in ("overlays/dev", "overlays/dev-postgres", "overlays/gpu", "overlays/prod"):
        docs = renders[name]
        env = m.resolved_env(_container(docs, m.API), docs)
        dev = name.startswith("overlays/dev")
        assert env.get("STRATA_DEMO") == ("true" if dev else None), name
        encoder = env.get("STRATA_DEMO_TEXT_ENCODER")
        if not dev:
            assert encoder is None, name
            continue
        # The encoder directory is a path in the ML pod (the API passes it to ImportModel): on a
        # volume the ML container mounts and an init container of the same pod fills.
        ml = next(d for d in m.by_kind(docs, "Deployment") if d["metadata"]["name"] == m.ML)
        pod = ml["spec"]["template"]["spec"]
        mounted = [v for v in _container(docs, m.ML).get("volumeMounts", [])
                   if encoder and encoder.startswith(v["mountPath"].rstrip("/") + "/")]
        assert mounted, f"{name}: STRATA_DEMO_TEXT_ENCODER={encoder} is on no volume of the ML container"
        fillers = [c["name"] for c in pod.get("initContainers", [])
                   for v in c.get("volumeMounts", [])
                   if v["name"] == mounted[0]["name"] and not v.get("readOnly")]
        assert fillers, f"{name}: nothing fills volume {mounted[0]['name']} before the ML service starts"


def test_gpu_overlay_puts_only_the_ml_tier_on_gpus(renders, facts):
    docs = renders["overlays/gpu"]
    on_gpu = {w for w, pod, _ in m.workloads(docs) if m._tolerates_gpu(pod)}
    assert on_gpu == {"Deployment/strata-ml"}
    assert m.check_gpu(docs, facts, gpu=True) == []


def test_pending_names_are_still_pending_and_still_used(renders, facts, dashboard):
    assert m.check_pending(facts, renders, dashboard) == []


def test_dashboard_reads_only_metrics_the_services_export(facts, dashboard):
    assert m.dashboard_metrics(dashboard), "the dashboard has no queries"
    assert m.check_dashboard(dashboard, facts) == []


def _container(docs, name):
    return m._container_of(next(d for d in m.by_kind(docs, "Deployment") if d["metadata"]["name"] == name), name)


def test_prod_keeps_no_state_on_volumes(renders):
    docs = renders["overlays/prod"]
    assert m.by_kind(docs, "PersistentVolumeClaim") == []
    ml = next(d for d in m.by_kind(docs, "Deployment") if d["metadata"]["name"] == m.ML)
    assert {v["name"]: set(v) - {"name"} for v in ml["spec"]["template"]["spec"]["volumes"]}["data"] == {"emptyDir"}
    # Both services on the managed database the Secrets name, which the render cannot see, each
    # with credentials of its own.
    for name, secret in ((m.API, m.API_SCALE_OUT_SECRET), (m.ML, m.SCALE_OUT_SECRET)):
        src = m.env_source(_container(docs, name), docs, "STRATA_METADATA_URL")
        assert src == m.EnvSource(None, (secret, "metadata-url")), name


def test_dev_postgres_points_both_services_at_the_in_cluster_database(renders):
    docs = renders["overlays/dev-postgres"]
    servers = {d["metadata"]["name"] for d in m.by_kind(docs, "StatefulSet")}
    for name in (m.API, m.ML):
        url = m.env_source(_container(docs, name), docs, "STRATA_METADATA_URL").value
        assert urlsplit(url).scheme == "postgres" and urlsplit(url).hostname in servers, url
    artifacts = m.env_source(_container(docs, m.ML), docs, "STRATA_ARTIFACT_URL").value
    assert artifacts.startswith("file:///data/")


def test_dev_keeps_sqlite_and_the_filesystem_on_the_shared_volume(renders):
    docs = renders["overlays/dev"]
    ml = _container(docs, m.ML)
    assert m.env_source(ml, docs, "STRATA_METADATA_URL") is None
    assert m.env_source(ml, docs, "STRATA_ARTIFACT_URL") is None
    claims = {c["metadata"]["name"] for c in m.by_kind(docs, "PersistentVolumeClaim")}
    assert claims == {"strata-data", "strata-api-state"}
    assert m.env_source(_container(docs, m.API), docs, "STRATA_METADATA_URL").value.startswith("sqlite:/")


@pytest.mark.parametrize("order", [("scale-out", "gpu"), ("gpu", "scale-out")])
def test_prod_with_the_gpu_component_keeps_both(order, tmp_path, facts, dashboard):
    # The prod kustomization says to add ../../components/gpu for a GPU tier; both components add
    # env to the ML container, and neither may drop the other's, in whichever order they are listed.
    k8s = tmp_path / "k8s"
    shutil.copytree(m.K8S, k8s)
    kustomization = k8s / "overlays" / "prod" / "kustomization.yaml"
    text, n = re.subn(r"components:\n(  - .*\n)+", "components:\n" + "".join(
        f"  - ../../components/{c}\n" for c in (*order, "monitoring")), kustomization.read_text())
    assert n == 1
    kustomization.write_text(text)
    docs = m.render(k8s / "overlays" / "prod")
    assert m.check_gpu(docs, facts, gpu=True) == []
    assert m.check_prod(docs, facts) == []
    assert m.check_metadata(docs, facts) == []
    assert m.check_images(docs, facts, dev_tags=False) == []
    assert m.image_name(_container(docs, m.ML)["image"]) == ("strata-ml-cuda", "latest")


def test_every_overlay_authenticates_calls_to_the_ml_service(renders):
    # The API signs every call with the key the ML service verifies: one Secret, one key, in
    # every overlay; only the dev overlays carry a (development-only) value in git.
    for name in ("overlays/dev", "overlays/dev-postgres", "overlays/gpu", "overlays/prod"):
        docs = renders[name]
        ml = m.env_source(_container(docs, m.ML), docs, "STRATA_ML_CALLER_KEYS")
        api = m.env_source(_container(docs, m.API), docs, "STRATA_ML_CALLER_KEY")
        assert ml is not None and api is not None, name
        assert ml.secret is not None and ml.secret == api.secret, (name, ml, api)
        dev = name.startswith("overlays/dev")
        assert (ml.value is not None) == dev, name


def test_every_overlay_lets_only_the_api_reach_the_ml_service(renders):
    for name in ("overlays/dev", "overlays/dev-postgres", "overlays/gpu", "overlays/prod"):
        docs = renders[name]
        ml = next(d for d in m.by_kind(docs, "Deployment") if d["metadata"]["name"] == m.ML)
        labels = ml["spec"]["template"]["metadata"]["labels"]
        port = m.port_named(_container(docs, m.ML), "grpc")
        assert m.ingress_peers(docs, labels, "grpc", port) == {m.API}, name


def _deployment(docs, name):
    return next(d for d in m.by_kind(docs, "Deployment") if d["metadata"]["name"] == name)


def test_users_survive_a_restart_in_every_overlay(renders, facts):
    # Users and API keys (and so the bootstrap admin) on a claim or in PostgreSQL, never on an
    # emptyDir, where every restart would lose them and make a new admin.
    for name in ("overlays/dev", "overlays/dev-postgres", "overlays/gpu", "overlays/prod"):
        docs = renders[name]
        api = _deployment(docs, m.API)
        c = _container(docs, m.API)
        src = m.env_source(c, docs, "STRATA_METADATA_URL")
        url = src.value if src else facts.env_defaults[m.API]["STRATA_METADATA_URL"]
        if url is None or url.startswith("postgres"):
            continue
        vol = m.volume_at(c, api["spec"]["template"]["spec"], m._sqlite_path(url))
        claim = (vol or {}).get("persistentVolumeClaim", {}).get("claimName")
        assert claim in {p["metadata"]["name"] for p in m.by_kind(docs, "PersistentVolumeClaim")}, (name, vol)
        assert api["spec"]["strategy"]["type"] == "Recreate", name


def test_every_overlay_speaks_mutual_tls_between_the_api_and_the_ml_service(renders):
    for name in ("overlays/dev", "overlays/dev-postgres", "overlays/gpu", "overlays/prod"):
        docs = renders[name]
        assert m.check_ml_tls(docs, None) == [], name
        ml, api = (m.resolved_env(_container(docs, n), docs) for n in (m.ML, m.API))
        assert api["STRATA_ML_URL"].startswith("https://"), name
        assert ml["STRATA_ML_TLS_CLIENT_CA"] and api["STRATA_ML_CLIENT_CERT"], name
        # The dev overlays carry development-only certificates; the others read the Secrets that
        # infra/k8s/ml-tls.sh makes, so their certificates are not in the render.
        secrets = m.secrets_in(docs)
        assert ({"strata-ml-tls", "strata-api-ml-tls"} <= set(secrets)) == name.startswith("overlays/dev"), name


def test_the_dev_certificates_are_checked_and_a_wrong_one_is_caught(renders):
    # Not vacuous: the dev render's certificates go through openssl, and a client certificate
    # given to the ML service as its server certificate fails (wrong names, wrong purpose).
    docs = renders["overlays/dev"]
    secrets = m.secrets_in(docs)
    pems = {var: secrets[s][k] for var, (s, k) in {
        "STRATA_ML_TLS_CERT": ("strata-ml-tls", "tls.crt"), "STRATA_ML_TLS_KEY": ("strata-ml-tls", "tls.key"),
        "STRATA_ML_TLS_CLIENT_CA": ("strata-ml-tls", "ca.crt"), "STRATA_ML_CLIENT_CERT": ("strata-api-ml-tls", "tls.crt"),
        "STRATA_ML_CLIENT_KEY": ("strata-api-ml-tls", "tls.key"), "STRATA_ML_CA": ("strata-api-ml-tls", "ca.crt")}.items()}
    assert m._check_certificates(pems, "strata-ml") == []
    assert m._check_certificates(pems, "strata-ml-other") != []
    swapped = {**pems, "STRATA_ML_TLS_CERT": pems["STRATA_ML_CLIENT_CERT"], "STRATA_ML_TLS_KEY": pems["STRATA_ML_CLIENT_KEY"]}
    assert any("does not verify" in p for p in m._check_certificates(swapped, "strata-ml"))


def test_ml_tls_sh_makes_certificates_that_work(tmp_path):
    # The script the overlays without certificates in git depend on.
    script = m.K8S / "ml-tls.sh"
    out = m.subprocess.run([str(script), "--namespace", m.NAMESPACE, "--days", "730", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    read = lambda rel: (tmp_path / rel).read_text()
    pems = {"STRATA_ML_TLS_CERT": read("ml/tls.crt"), "STRATA_ML_TLS_KEY": read("ml/tls.key"),
            "STRATA_ML_TLS_CLIENT_CA": read("ml/ca.crt"), "STRATA_ML_CLIENT_CERT": read("api/tls.crt"),
            "STRATA_ML_CLIENT_KEY": read("api/tls.key"), "STRATA_ML_CA": read("api/ca.crt")}
    assert m._check_certificates(pems, "strata-ml") == []


def test_ml_probes_use_the_plaintext_health_port(renders):
    for name in ("overlays/dev", "overlays/dev-postgres", "overlays/gpu", "overlays/prod"):
        c = _container(renders[name], m.ML)
        health = m.port_named(c, "health")
        assert health and health != m.port_named(c, "grpc"), name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["grpc"]["port"] == health, (name, probe)


def test_the_ml_database_role_is_granted_no_user_tables(facts):
    # The migrations grant one role, the ML service's, the tables it uses and never the API's.
    assert set(facts.db_grants) == {"strata_ml"}
    assert {"jobs", "job_events", "model_aliases"} <= facts.db_grants["strata_ml"]
    assert not facts.db_grants["strata_ml"] & m.API_ONLY_TABLES


def test_dev_postgres_gives_each_service_its_own_database_role(renders):
    docs = renders["overlays/dev-postgres"]
    users = {n: urlsplit(m.env_source(_container(docs, n), docs, "STRATA_METADATA_URL").value).username
             for n in (m.API, m.ML)}
    assert users == {m.API: "strata", m.ML: "strata_ml"}
    ml_pod = _deployment(docs, m.ML)["spec"]["template"]["spec"]
    assert "strata-api-scale-out" not in m._secrets_of(ml_pod)
