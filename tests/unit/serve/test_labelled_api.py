"""POST /classify and POST /match through a test client: answers agree with the predictors, weights are
distributions over the real words, every refusal (404, 413, 422, 503) says what to do, and the schema."""

import json
import time

import pytest

from attnkit.serve import Limits
from attnkit.training.classify import DocumentClassifier, PairMatcher

DOC = "The rain falls on the hills. The chef slices an onion.\nThe striker kicks the ball."
PAIR = {"a": "The cook bakes fresh bread.", "b": "A baker stirs the soup."}
OTHER_PAIR = {"a": "A storm hides the coast.", "b": "The coach trains for the final."}


def four_decimals(values) -> bool:
    return all(x == round(x, 4) and len(repr(x)) <= 7 for x in values)


# --------------------------------------------------------------------------- models
def test_models_name_each_task_and_its_labels(mixed_client):
    r = mixed_client.get("/models")
    assert r.status_code == 200
    models = {m["name"]: m for m in r.json()["models"]}
    assert [m["task"] for m in r.json()["models"]] == ["translate", "classify", "match"]
    han, pairs = models["han"], models["pairs"]
    assert (han["family"], han["labels"], han["pooling"]) == ("han", ["kitchen", "sport", "weather"], "attention")
    assert (han["embed_dim"], han["hidden_dim"], han["max_sentences"], han["max_words"]) == (8, 6, 30, 60)
    assert han["vocab"] > 40
    assert (pairs["family"], pairs["labels"], pairs["coattention"], pairs["score"]) == (
        "matcher", ["different", "match"], True, "dot")
    assert models["tiny"]["decoder"] == "bahdanau" and models["tiny"]["max_len"] == 400  # translation as before


# --------------------------------------------------------------------------- classify
def test_classify_agrees_with_the_classifier(mixed_client, han_dir):
    r = mixed_client.post("/classify", json={"model": "han", "texts": [DOC, "A storm soaks the fields."]})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["model"] == "han" and data["elapsed_ms"] >= 0
    expected = DocumentClassifier.from_dir(han_dir).classify([DOC, "A storm soaks the fields."], attention=False)
    for got, ref in zip(data["results"], expected, strict=True):
        assert set(got) == {"label", "probs"}  # no words or weights unless asked
        assert got["label"] == ref.label == max(got["probs"], key=got["probs"].get)
        assert list(got["probs"]) == ["kitchen", "sport", "weather"]
        assert got["probs"] == pytest.approx(ref.probs, abs=5e-5)
        assert sum(got["probs"].values()) == pytest.approx(1, abs=2e-4) and four_decimals(got["probs"].values())


def test_classify_with_attention(mixed_client, han_dir):
    r = mixed_client.post("/classify", json={"texts": [DOC], "attention": True})  # the only classifier
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    [ref] = DocumentClassifier.from_dir(han_dir).classify([DOC], attention=True)
    assert result["tokens"] == ref.tokens == [["The", "rain", "falls", "on", "the", "hills", "."],
                                              ["The", "chef", "slices", "an", "onion", "."],
                                              ["The", "striker", "kicks", "the", "ball", "."]]
    words, sentences = result["word_weights"], result["sentence_weights"]
    assert [len(w) for w in words] == [len(s) for s in result["tokens"]]  # one weight per real word, no padding
    for w, w_ref in zip(words, ref.word_weights, strict=True):
        assert sum(w) == pytest.approx(1, abs=len(w) * 5e-5) and four_decimals(w)
        assert w == pytest.approx(w_ref, abs=5e-5)
    assert len(sentences) == 3 and sum(sentences) == pytest.approx(1, abs=2e-4) and four_decimals(sentences)
    assert sentences == pytest.approx(ref.sentence_weights, abs=5e-5)


def test_a_flat_classifier_reads_one_run_of_words(serve_dirs, flat_dir):
    c = serve_dirs({"flat": flat_dir})
    info = c.get("/models").json()["models"][0]
    assert (info["family"], info["num_heads"], info["encoder_layers"]) == ("classifier", 2, 1)
    assert info["max_words"] == 64 and info["max_sentences"] is None and info["hidden_dim"] is None
    r = c.post("/classify", json={"texts": [DOC], "attention": True})
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert "sentence_weights" not in result
    [tokens] = result["tokens"]  # one sentence: every word of the document, in order
    assert tokens[:8] == ["The", "rain", "falls", "on", "the", "hills", ".", "The"] and tokens[-1] == "."
    [words] = result["word_weights"]
    assert len(words) == 19 and sum(words) == pytest.approx(1, abs=19 * 5e-5) and four_decimals(words)


# --------------------------------------------------------------------------- match
def test_match_agrees_with_the_matcher(mixed_client, matcher_dir):
    r = mixed_client.post("/match", json={"model": "pairs", "pairs": [PAIR, OTHER_PAIR]})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["model"] == "pairs"
    expected = PairMatcher.from_dir(matcher_dir).match([(p["a"], p["b"]) for p in (PAIR, OTHER_PAIR)],
                                                       attention=False)
    for got, ref in zip(data["results"], expected, strict=True):
        assert set(got) == {"label", "probs"}
        assert got["label"] == ref.label and got["probs"] == pytest.approx(ref.probs, abs=5e-5)
        assert set(got["probs"]) == {"different", "match"} and four_decimals(got["probs"].values())


def test_match_with_attention(mixed_client, matcher_dir):
    r = mixed_client.post("/match", json={"pairs": [PAIR], "attention": True})
    assert r.status_code == 200, r.text
    [got] = r.json()["results"]
    [ref] = PairMatcher.from_dir(matcher_dir).match([(PAIR["a"], PAIR["b"])], attention=True)
    assert got["tokens_a"] == ["The", "cook", "bakes", "fresh", "bread", "."]
    assert got["tokens_b"] == ["A", "baker", "stirs", "the", "soup", "."]
    for key, rows, cols in (("attn_ab", "tokens_a", "tokens_b"), ("attn_ba", "tokens_b", "tokens_a")):
        matrix = got[key]
        assert len(matrix) == len(got[rows]) and {len(row) for row in matrix} == {len(got[cols])}, key
        for row, ref_row in zip(matrix, getattr(ref, key), strict=True):
            assert sum(row) == pytest.approx(1, abs=len(row) * 5e-5) and four_decimals(row)
            assert row == pytest.approx(ref_row, abs=5e-5)


# --------------------------------------------------------------------------- which model
@pytest.mark.parametrize(("endpoint", "body", "model", "use"), [
    ("/classify", {"texts": [DOC]}, "tiny", "/translate"),
    ("/classify", {"texts": [DOC]}, "pairs", "/match"),
    ("/match", {"pairs": [PAIR]}, "han", "/classify"),
    ("/translate", {"sentences": ["3 May 1998"]}, "han", "/classify"),
    ("/translate", {"sentences": ["3 May 1998"]}, "pairs", "/match"),
])
def test_a_model_of_another_task_names_its_endpoint(mixed_client, endpoint, body, model, use):
    r = mixed_client.post(endpoint, json={"model": model, **body})
    assert r.status_code == 422
    assert f"model {model!r} is a" in r.json()["detail"] and f"send its requests to POST {use}" in r.json()["detail"]


def test_unknown_model(mixed_client):
    for endpoint, body in (("/classify", {"texts": [DOC]}), ("/match", {"pairs": [PAIR]})):
        r = mixed_client.post(endpoint, json={"model": "nope", **body})
        assert r.status_code == 404 and r.json()["models"] == ["han", "pairs", "tiny"], endpoint


def test_a_server_without_a_classifier_says_what_it_serves(client):
    r = client.post("/classify", json={"texts": [DOC]})
    assert r.status_code == 422
    assert r.json()["detail"] == ("this server has no classification model for POST /classify; "
                                  "tiny at POST /translate")


def test_model_is_required_among_several_classifiers(serve_dirs, han_dir, model_dir):
    c = serve_dirs({"a": han_dir, "b": han_dir, "tiny": model_dir})
    r = c.post("/classify", json={"texts": [DOC]})
    assert r.status_code == 422 and r.json()["models"] == ["a", "b"]
    assert "'model' is required: this server has 2 classification models: a, b" in r.json()["detail"]
    assert c.post("/translate", json={"sentences": ["1/2/03"]}).status_code == 200  # the only translator


# --------------------------------------------------------------------------- limits
@pytest.fixture
def small_client(serve_dirs, han_dir, matcher_dir):
    return serve_dirs({"han": han_dir, "pairs": matcher_dir}, limits=Limits(max_chars=30, max_batch=2))


def test_too_many_characters(small_client):
    r = small_client.post("/classify", json={"texts": ["Fog hides the hills.", DOC]})
    assert r.status_code == 413 and r.json()["limit"] == "max_chars"
    assert r.json()["detail"].startswith(f"texts[1] has {len(DOC)} characters, over the server's limit max_chars=30")
    r = small_client.post("/match", json={"pairs": [{"a": "Fog.", "b": "x" * 31}]})
    assert r.status_code == 413 and "pairs[0].b has 31 characters" in r.json()["detail"]


def test_too_many_texts_or_pairs(small_client):
    r = small_client.post("/classify", json={"texts": ["Fog."] * 3})
    assert r.status_code == 413 and r.json()["limit"] == "max_batch"
    assert r.json()["detail"].startswith("3 texts in one request, over the server's limit max_batch=2")
    r = small_client.post("/match", json={"pairs": [{"a": "Fog.", "b": "Rain."}] * 3})
    assert r.status_code == 413 and r.json()["detail"].startswith("3 pairs in one request")
    assert small_client.post("/match", json={"pairs": [{"a": "Fog.", "b": "Rain."}] * 2}).status_code == 200


def test_a_pair_may_send_twice_the_body_of_one_text(serve_dirs, han_dir, matcher_dir):
    limits = Limits(max_chars=10, max_batch=1)
    c = serve_dirs({"han": han_dir, "pairs": matcher_dir}, limits=limits)
    long = "x" * limits.max_body_bytes(1)
    bodies = {"/classify": json.dumps({"texts": [long]}), "/match": json.dumps({"pairs": [{"a": long, "b": "y"}]})}
    assert limits.max_body_bytes(1) < len(bodies["/match"]) < limits.max_body_bytes(2)
    answers = {path: c.post(path, content=body, headers={"content-type": "application/json"})
               for path, body in bodies.items()}
    assert answers["/classify"].status_code == 413
    assert answers["/classify"].json()["detail"].startswith("request body of")  # refused before parsing
    assert answers["/match"].status_code == 413
    assert answers["/match"].json()["detail"].startswith("pairs[0].a has")  # parsed, then refused by max_chars


@pytest.mark.parametrize(("endpoint", "body", "where"), [
    ("/classify", {"texts": ["Fog.", "  \n"]}, "texts[1] is empty"),
    ("/classify", {"texts": [""]}, "texts[0] is empty"),
    ("/match", {"pairs": [PAIR, {"a": " ", "b": "Rain."}]}, "pairs[1].a is empty"),
    ("/match", {"pairs": [{"a": "Fog.", "b": ""}]}, "pairs[0].b is empty"),
])
def test_empty_text_names_its_place(mixed_client, endpoint, body, where):
    r = mixed_client.post(endpoint, json=body)
    assert r.status_code == 422 and r.json()["detail"].startswith(where)


@pytest.mark.parametrize(("endpoint", "body", "where"), [
    ("/classify", {}, "texts"), ("/classify", {"texts": []}, "texts"), ("/classify", {"texts": "Fog."}, "texts"),
    ("/classify", {"texts": ["Fog."], "sentences": ["Fog."]}, "sentences"),
    ("/match", {"pairs": []}, "pairs"), ("/match", {"pairs": [{"a": "Fog."}]}, "pairs.0.b"),
    ("/match", {"pairs": [["Fog.", "Rain."]]}, "pairs.0"),
    ("/match", {"pairs": [PAIR], "attention": "maybe"}, "attention"),
])
def test_malformed_requests(mixed_client, endpoint, body, where):
    r = mixed_client.post(endpoint, json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("invalid request: ") and where in r.json()["detail"], r.json()["detail"]


@pytest.mark.parametrize(("endpoint", "body", "cls", "method", "what"), [
    ("/classify", {"texts": [DOC]}, DocumentClassifier, "classify", "classification"),
    ("/match", {"pairs": [PAIR]}, PairMatcher, "match", "matching"),
])
def test_timeout_answers_503_and_the_server_recovers(serve_dirs, han_dir, matcher_dir, monkeypatch, endpoint, body,
                                                     cls, method, what):
    real = getattr(cls, method)

    def slow(self, *args, **kwargs):
        time.sleep(0.6)
        return real(self, *args, **kwargs)

    c = serve_dirs({"han": han_dir, "pairs": matcher_dir}, limits=Limits(timeout_s=0.1))
    monkeypatch.setattr(cls, method, slow)
    start = time.perf_counter()
    r = c.post(endpoint, json=body)
    assert time.perf_counter() - start < 0.5
    assert r.status_code == 503 and r.json()["limit"] == "timeout_s" and r.headers["retry-after"] == "1"
    assert r.json()["detail"].startswith(f"the {what} did not finish within the server's limit timeout_s=0.1")
    monkeypatch.setattr(cls, method, real)
    time.sleep(0.7)  # the abandoned work finishes and releases the lock
    assert c.post(endpoint, json=body).status_code == 200


# --------------------------------------------------------------------------- schema and page
def test_openapi_documents_both_endpoints(mixed_client):
    schema = mixed_client.get("/openapi.json").json()
    for path, tag, request in (("/classify", "classify", "ClassifyRequest"), ("/match", "match", "MatchRequest")):
        post = schema["paths"][path]["post"]
        assert post["tags"] == [tag] and post["description"]
        assert {"404", "413", "422", "503"} <= set(post["responses"])
        assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(request)
    assert {t["name"] for t in schema["tags"]} == {"server", "translate", "classify", "match", "caption",
                                                   "classify_images"}
    components = schema["components"]["schemas"]
    assert components["ClassifyRequest"]["properties"]["texts"]["minItems"] == 1
    assert set(components["MatchResult"]["properties"]) == {"label", "probs", "tokens_a", "tokens_b", "attn_ab",
                                                            "attn_ba"}
    mapping = components["ModelsResponse"]["properties"]["models"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == {"translate", "classify", "match", "caption", "classify_images"}


def test_explorer_script_uses_the_new_endpoints(client):
    js = client.get("/static/explorer.js").text
    assert '"/classify"' in js and '"/match"' in js
    assert "sentence_weights" in js and "attn_ab" in js and "Math.sqrt" in js
