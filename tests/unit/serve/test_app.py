"""The REST app through a test client: answers, every limit, the schema, and the explorer's assets."""

import asyncio
import json
import re
import threading
import time

import pytest

from attnkit.errors import CheckpointError
from attnkit.serve import Limits, create_app, name_models
from attnkit.serve.app import STATIC_DIR, _Inference
from attnkit.training import Translator

DATE = "3 de marzo de 1998"


def post(client, **body):
    return client.post("/translate", json=body)


# --------------------------------------------------------------------------- health, models
def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "models": ["tiny"]}


def test_models_summarise_config_and_limits(make_client):
    r = make_client(limits=Limits(max_beam=4), names=("a", "b")).get("/models")
    assert r.status_code == 200
    data = r.json()
    assert [m["name"] for m in data["models"]] == ["a", "b"]
    m = data["models"][0]
    assert (m["family"], m["cell"], m["decoder"], m["score"], m["tokenizer"]) == ("rnn", "gru", "bahdanau",
                                                                                  "additive", "char")
    assert (m["embed_dim"], m["hidden_dim"], m["beam"], m["n_best"], m["max_len"]) == (8, 16, 3, 1, 400)
    assert (m["num_heads"], m["encoder_layers"], m["decoder_layers"]) == (1, 1, 1)
    assert m["src_vocab"] > 30 and 10 < m["tgt_vocab"] < m["src_vocab"]
    assert data["limits"] == {"max_chars": 1000, "max_batch": 32, "max_beam": 4, "timeout_s": 30.0,
                              "max_image_bytes": 2_000_000, "max_image_pixels": 4096 * 4096}


# --------------------------------------------------------------------------- translate
def test_translate_matches_the_translator(client, model_dir):
    r = post(client, sentences=[DATE, "12/25/07"], beam=3, n_best=1)
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["model"], data["beam"], data["n_best"]) == ("tiny", 3, 1)
    expected = Translator.from_dir(model_dir).translate([DATE, "12/25/07"], beam=3, n_best=1)
    for got, source, hyps in zip(data["translations"], [DATE, "12/25/07"], expected, strict=True):
        assert got["source"] == source
        [hyp] = got["hypotheses"]
        assert set(hyp) == {"text", "score", "norm_score"}  # no tokens or attention unless asked
        assert hyp["text"] == hyps[0].text
        assert hyp["score"] == pytest.approx(hyps[0].score, abs=1e-4)
        assert hyp["norm_score"] == pytest.approx(hyps[0].norm_score, abs=1e-4)


def test_translate_with_attention(client, model_dir):
    r = post(client, sentences=[DATE], beam=3, n_best=1, attention=True)
    assert r.status_code == 200, r.text
    hyp = r.json()["translations"][0]["hypotheses"][0]
    best = Translator.from_dir(model_dir).translate([DATE], beam=3, n_best=1)[0][0]
    assert hyp["src_tokens"] == best.src_tokens and len(hyp["src_tokens"]) == len(DATE)
    assert hyp["tgt_tokens"] == best.tgt_tokens
    attention = hyp["attention"]
    assert len(attention) == len(hyp["tgt_tokens"]) and {len(row) for row in attention} == {len(DATE)}
    for row, ref in zip(attention, best.attn.tolist(), strict=True):
        assert sum(row) == pytest.approx(1.0, abs=len(row) * 5e-5)
        assert row == pytest.approx(ref, abs=5e-5)
        assert all(x == round(x, 4) and len(repr(x)) <= 7 for x in row)  # 4 decimals, not float32 noise
    assert "attention_layers" not in hyp  # one map only: the optional per-layer/head list is left out


def test_n_best_hypotheses_are_ranked(client):
    r = post(client, sentences=[DATE], beam=4, n_best=3)
    assert r.status_code == 200, r.text
    hyps = r.json()["translations"][0]["hypotheses"]
    assert len(hyps) == 3
    scores = [h["norm_score"] for h in hyps]
    assert scores == sorted(scores, reverse=True)
    assert len({h["text"] for h in hyps}) == 3


def test_greedy_and_model_defaults(client):
    r = post(client, sentences=[DATE])
    assert (r.json()["beam"], r.json()["n_best"]) == (3, 1)  # the model's decode section
    r = post(client, sentences=[DATE], beam=1)
    assert r.status_code == 200 and r.json()["beam"] == 1


def test_model_name_is_required_with_several_and_checked(make_client):
    c = make_client(names=("first", "second"))
    r = post(c, sentences=[DATE])
    assert r.status_code == 422 and "'model' is required" in r.json()["detail"]
    assert r.json()["models"] == ["first", "second"]
    assert post(c, model="second", sentences=[DATE]).status_code == 200
    r = post(c, model="third", sentences=[DATE])
    assert r.status_code == 404
    assert r.json()["models"] == ["first", "second"] and "first, second" in r.json()["detail"]


def test_a_path_is_never_a_model(client, model_dir):
    r = post(client, model=str(model_dir), sentences=[DATE])
    assert r.status_code == 404
    r = post(client, model_dir=str(model_dir), sentences=[DATE])
    assert r.status_code == 422 and "model_dir" in r.json()["detail"]


def test_models_load_only_from_model_directories(tmp_path):
    with pytest.raises(CheckpointError, match="not a model directory"):
        create_app({"x": tmp_path})
    with pytest.raises(ValueError, match="at least one"):
        create_app({})


def test_name_models(tmp_path):
    assert name_models([tmp_path / "a" / "m", tmp_path / "b" / "m", tmp_path / "c"]) == {
        "m": tmp_path / "a" / "m", "m-2": tmp_path / "b" / "m", "c": tmp_path / "c"}


# --------------------------------------------------------------------------- limits
def test_limits_validate():
    with pytest.raises(ValueError, match="max_chars"):
        Limits(max_chars=0)
    with pytest.raises(ValueError, match="timeout_s"):
        Limits(timeout_s=-1)


def test_too_many_characters(make_client):
    c = make_client(limits=Limits(max_chars=10))
    r = post(c, sentences=["1/2/03", DATE])
    assert r.status_code == 413
    assert r.json()["limit"] == "max_chars"
    assert "sentences[1] has 18 characters" in r.json()["detail"] and "max_chars=10" in r.json()["detail"]


def test_the_models_own_length_limit_applies_too(client):
    r = post(client, sentences=["1" * 401])
    assert r.status_code == 413 and r.json()["limit"] == "max_len" and "max_len=400" in r.json()["detail"]


def test_too_many_sentences(make_client):
    c = make_client(limits=Limits(max_batch=2))
    r = post(c, sentences=[DATE] * 3)
    assert r.status_code == 413 and r.json()["limit"] == "max_batch" and "max_batch=2" in r.json()["detail"]
    assert post(c, sentences=[DATE] * 2).status_code == 200


def test_oversized_body_is_refused_before_parsing(make_client):
    c = make_client(limits=Limits(max_chars=10, max_batch=1))
    r = c.post("/translate", content=json.dumps({"sentences": ["x" * 200_000]}),
               headers={"content-type": "application/json"})
    assert r.status_code == 413 and "request body" in r.json()["detail"]


def test_beam_limits(make_client):
    c = make_client(limits=Limits(max_beam=4))
    r = post(c, sentences=[DATE], beam=5)
    assert r.status_code == 422 and r.json()["limit"] == "max_beam" and "max_beam=4" in r.json()["detail"]
    r = post(c, sentences=[DATE], beam=2, n_best=3)
    assert r.status_code == 422 and "n_best=3 is over beam=2" in r.json()["detail"]
    r = post(c, sentences=[DATE], beam=0)
    assert r.status_code == 422 and "beam" in r.json()["detail"]


@pytest.mark.parametrize("sentences", [["1/2/03", "   "], ["1/2/03", ""]])
def test_empty_sentence_names_its_index(client, sentences):
    r = post(client, sentences=sentences)
    assert r.status_code == 422 and "sentences[1] is empty" in r.json()["detail"]


@pytest.mark.parametrize(("body", "where"), [({}, "sentences"), ({"sentences": []}, "sentences"),
                                             ({"sentences": "3 May"}, "sentences"),
                                             ({"sentences": [DATE], "attention": "maybe"}, "attention")])
def test_malformed_requests(client, body, where):
    r = client.post("/translate", json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("invalid request: ") and where in r.json()["detail"]
    r = client.post("/translate", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]


def test_timeout_answers_503_and_the_server_recovers(make_client, monkeypatch):
    real = Translator.translate

    def slow(self, *args, **kwargs):
        time.sleep(0.6)
        return real(self, *args, **kwargs)

    c = make_client(limits=Limits(timeout_s=0.1))
    monkeypatch.setattr(Translator, "translate", slow)
    start = time.perf_counter()
    r = post(c, sentences=[DATE])
    assert time.perf_counter() - start < 0.5  # answered at the timeout, not when the work ends
    assert r.status_code == 503 and r.json()["limit"] == "timeout_s" and "timeout_s=0.1" in r.json()["detail"]
    assert r.headers["retry-after"] == "1"
    monkeypatch.setattr(Translator, "translate", real)
    time.sleep(0.7)  # the abandoned translation finishes and releases the lock
    assert post(c, sentences=[DATE]).status_code == 200


def test_inference_is_serialised_and_abandoned_work_never_starts():
    inference = _Inference(workers=4)
    running, peak, ran = [0], [0], []
    guard = threading.Lock()

    def job(name):
        def work():
            with guard:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            ran.append(name)
            with guard:
                running[0] -= 1
            return name
        return work

    async def main():
        done = await asyncio.gather(*(inference.run(job(i), 5.0) for i in range(4)))
        blocker = asyncio.ensure_future(inference.run(job("slow"), 5.0))
        await asyncio.sleep(0.01)
        with pytest.raises(asyncio.TimeoutError):
            await inference.run(job("late"), 0.01)  # still queued behind "slow" when it times out
        await blocker
        await asyncio.sleep(0.1)
        return done

    try:
        assert sorted(asyncio.run(main())) == [0, 1, 2, 3]
    finally:
        inference.close()
    assert peak[0] == 1 and "late" not in ran and "slow" in ran


# --------------------------------------------------------------------------- schema and page
def test_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    assert {"/health", "/models", "/translate"} <= set(schema["paths"])
    request = schema["components"]["schemas"]["TranslateRequest"]
    assert request["properties"]["beam"]["anyOf"][0]["minimum"] == 1
    assert {"404", "413", "422", "503"} <= set(schema["paths"]["/translate"]["post"]["responses"])
    assert client.get("/docs").status_code == 404  # the Swagger page would load from a CDN


def test_explorer_page_and_assets_are_local(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/static/explorer.js", "/static/explorer.css", "/static/favicon.svg"} <= set(refs)
    for ref in refs:
        assert ref.startswith("/static/"), ref
        assert client.get(ref).status_code == 200, ref
    assert "<style" not in html and "<script>" not in html  # nothing inline (the CSP forbids it)
    for asset in STATIC_DIR.iterdir():
        text = re.sub(r'xmlns="[^"]*"', "", asset.read_text(encoding="utf-8"))  # a namespace, not a fetch
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), asset.name
        assert "@import" not in text and "url(" not in text, asset.name


def test_explorer_script_uses_the_api(client):
    js = client.get("/static/explorer.js").text
    assert '"/models"' in js and '"/translate"' in js and "attention: true" in js
    assert "attention_layers" in js  # the layer/head picker reads the optional per-layer maps
    assert client.get("/static/missing.js").status_code == 404
