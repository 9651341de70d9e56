"""The real manifests agree with the services' code, the Bazel images and each other."""

import pytest

import manifests as m


def test_facts_are_read_from_the_sources(facts):
    # If a parser silently found nothing, every later check would pass vacuously.
    assert {"STRATA_ML_LISTEN", "STRATA_ML_METRICS_LISTEN", "STRATA_DATA_DIR", "STRATA_DEVICE"} <= facts.env[m.ML]
    assert {"STRATA_API_LISTEN", "STRATA_ML_URL"} <= facts.env[m.API]
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
    for name in ("overlays/dev", "overlays/gpu", "overlays/prod"):
        deployments = {d["metadata"]["name"] for d in m.by_kind(renders[name], "Deployment")}
        assert deployments == {m.ML, m.API, m.WEB}, name


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
