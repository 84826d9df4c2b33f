"""The Ray Serve deployment (service/ray_serve.py): the same app, over real HTTP through Ray's proxy.

A local Ray instance is started on loopback for this module (2 CPUs, no dashboard, a small object
store, its files under a short temporary folder: Unix socket paths must stay under 108 bytes),
Serve's proxy listens on 127.0.0.1 on a free port, and the app is deployed with lemmatize,
tokenize and classify only. Its answers are compared with the plain app's (TestClient) for the
same inputs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile

import httpx
import pytest

from service.ray_serve import RayNotInstalled, ServeOptions, require_ray
from service.settings import Settings
from tests.conftest import free_port

TASKS = '["lemmatize","tokenize","classify"]'
APP = "lexiflow-test"
OPTIONS = ServeOptions(min_replicas=1, max_replicas=2, target_ongoing_requests=3, max_ongoing_requests=16,
                       max_queued_requests=64, retry_after_s=2, num_cpus=1, name=APP)

LEMMA_INPUT = {"text": ["The striped bats were hanging on their feet and ate best fishes.", "Geese ran."]}
TOKENIZE_INPUT = {"text": "She was snorkeling unbelievably well.", "text_pair": "Who plays?", "align_with": "spacy"}
CLASSIFY_INPUT = {"text": "How far is it from Denver to Aspen?"}


# ----- without a cluster --------------------------------------------------------------------------------------
def test_fixed_replicas_options():
    opts = ServeOptions(replicas=3, num_cpus=2, max_ongoing_requests=8, max_queued_requests=20).deployment_options()
    assert opts["num_replicas"] == 3 and "autoscaling_config" not in opts
    assert opts["ray_actor_options"] == {"num_cpus": 2}
    assert (opts["max_ongoing_requests"], opts["max_queued_requests"]) == (8, 20)
    assert opts["backpressure_config"]["status_code"] == 429  # our overload status, with Retry-After


def test_autoscaling_options():
    opts = OPTIONS.deployment_options()
    assert "num_replicas" not in opts
    assert opts["autoscaling_config"] == {"min_replicas": 1, "initial_replicas": 1, "max_replicas": 2,
                                          "target_ongoing_requests": 3}
    assert ServeOptions(max_replicas=4).autoscaling_config()["min_replicas"] == 1
    assert ServeOptions(min_replicas=2).autoscaling_config()["max_replicas"] == 2


@pytest.mark.parametrize("kwargs", [{"min_replicas": 3, "max_replicas": 2}, {"replicas": 0},
                                    {"max_replicas": 2, "target_ongoing_requests": 64, "max_ongoing_requests": 8},
                                    {"num_cpus": 0}])
def test_inconsistent_options_are_refused(kwargs):
    with pytest.raises(ValueError):
        ServeOptions(**kwargs)


def test_torch_threads_follow_the_reserved_cpus():
    assert ServeOptions(num_cpus=2).replica_torch_threads(Settings()) == 2
    assert ServeOptions(num_cpus=0.5).replica_torch_threads(Settings()) == 1
    assert ServeOptions(num_cpus=2).replica_torch_threads(Settings(torch_threads=3)) == 3
    assert ServeOptions(num_cpus=2, torch_threads=1).replica_torch_threads(Settings(torch_threads=3)) == 1


def test_missing_ray_is_one_clear_message(monkeypatch, capsys):
    from lexiflow.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(RayNotInstalled, match=r"pip install 'lexiflow\[ray\]'"):
        require_ray()
    assert main(["serve-ray", "--replicas", "2"]) == 2
    assert "pip install 'lexiflow[ray]'" in capsys.readouterr().err


def test_cli_flags_parse():
    from lexiflow.cli import build_parser

    a = build_parser().parse_args(["serve-ray", "--host", "0.0.0.0", "--port", "9000", "--min-replicas", "1",
                                   "--max-replicas", "4", "--target-ongoing-requests", "2.5",
                                   "--address", "auto"])
    assert (a.host, a.port, a.min_replicas, a.max_replicas, a.target_ongoing_requests, a.address) == \
        ("0.0.0.0", 9000, 1, 4, 2.5, "auto")


def test_cli_refuses_replicas_with_autoscaling(capsys):
    from lexiflow.cli import main

    with pytest.raises(SystemExit) as info:
        main(["serve-ray", "--replicas", "2", "--max-replicas", "3"])
    assert info.value.code == 2
    assert "--replicas" in capsys.readouterr().err


# ----- a real local Ray cluster ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def settings():
    mp = pytest.MonkeyPatch()
    mp.setenv("LEXIFLOW_TASKS", TASKS)
    yield Settings()
    mp.undo()


@pytest.fixture(scope="module")
def served(settings):
    try:
        ray, serve = require_ray()
    except RayNotInstalled as exc:
        pytest.skip(str(exc))
    from service.ray_serve import build_application

    if ray.is_initialized():
        pytest.fail("a Ray instance is already running in this process; these tests start their own")
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_USAGE_STATS_ENABLED", "0")  # nothing tries to report anywhere
    temp = tempfile.mkdtemp(prefix="lfray-", dir="/tmp")  # short: Ray's Unix sockets live below it
    port = free_port()
    try:
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 * 1024, _temp_dir=temp,
                 _node_ip_address="127.0.0.1", configure_logging=False, log_to_driver=False)
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_application(settings, OPTIONS), name=APP, route_prefix="/")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield http
    finally:
        try:
            if ray.is_initialized():
                serve.shutdown()
        finally:
            ray.shutdown()
            mp.undo()
            shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def plain(settings):
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(settings.model_copy(update={"load_in_background": False})),
                    raise_server_exceptions=False) as c:
        yield c


@pytest.mark.slow
def test_ready_after_loading(served):
    r = served.get("/readyz")
    assert r.status_code == 200, r.text
    models = r.json()["models"]
    names = {m["task"] for m in models}
    assert {"lemmatize", "tokenize", "classify"} <= names
    assert "translate" not in names
    # the encoder is loaded only because a contextual classifier is configured (it reads its states)
    contextual = any(m["task"] == "classify" and m.get("kind") == "contextual" for m in models)
    assert ("embeddings" in names) == contextual


@pytest.mark.slow
@pytest.mark.parametrize("path, body", [("/v1/lemmatize", LEMMA_INPUT),
                                        ("/v1/lemmatize", {**LEMMA_INPUT, "engine": "lookup"}),
                                        ("/v1/tokenize", TOKENIZE_INPUT),
                                        ("/v1/classify", CLASSIFY_INPUT)])
def test_same_answers_as_the_plain_app(served, plain, path, body):
    via_ray, direct = served.post(path, json=body), plain.post(path, json=body)
    assert via_ray.status_code == direct.status_code == 200, via_ray.text
    assert via_ray.json() == direct.json()


@pytest.mark.slow
def test_validation_error_is_a_problem_document_with_request_id(served):
    body = {"text": "word word word word word word word word word word", "max_length": 8}
    r = served.post("/v1/tokenize", json=body, headers={"X-Request-ID": "ray-test-42"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert (problem["type"], problem["limit"], problem["given"]) == ("/problems/too-many-tokens", 8, 12)
    assert problem["request_id"] == "ray-test-42"
    assert r.headers.get_list("x-request-id") == ["ray-test-42"]  # one header, not the proxy's and ours


@pytest.mark.slow
def test_request_id_made_when_absent_matches_the_body(served):
    r = served.post("/v1/lemmatize", json={"text": "x" * 10, "engine": "nope"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    ids = r.headers.get_list("x-request-id")
    assert len(ids) == 1 and ids[0] == r.json()["request_id"]


@pytest.mark.slow
def test_middleware_and_metrics_are_the_apps(served):
    big = {"text": "a" * (Settings().limits.max_body_bytes + 10)}
    r = served.post("/v1/lemmatize", json=big)
    assert r.status_code == 413 and r.json()["type"] == "/problems/body-too-large"
    assert r.json()["limit"] == Settings().limits.max_body_bytes
    metrics = served.get("/metrics").text
    assert 'route="/v1/lemmatize"' in metrics or "/v1/lemmatize" in metrics


@pytest.mark.slow
def test_deployment_options_reach_the_deployment(served):
    from ray import serve
    from ray.serve.context import _get_global_client

    app_status = serve.status().applications[APP]
    assert app_status.status == "RUNNING"
    deployment = app_status.deployments[APP]
    assert deployment.status == "HEALTHY"
    assert deployment.replica_states.get("RUNNING") == 1  # min_replicas, under this light load

    details = _get_global_client().get_serve_details()
    config = details["applications"][APP]["deployments"][APP]["deployment_config"]
    auto = config["autoscaling_config"]
    assert (auto["min_replicas"], auto["max_replicas"], auto["target_ongoing_requests"]) == (1, 2, 3)
    assert config["max_ongoing_requests"] == 16 and config["max_queued_requests"] == 64
    assert config["ray_actor_options"]["num_cpus"] == 1
    assert details["http_options"]["host"] == "127.0.0.1"
