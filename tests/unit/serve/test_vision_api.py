"""POST /caption and POST /classify_images through a test client: answers agree with the predictors,
attention rows are distributions over the regions (frames), and every refusal says what to do."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from attnkit.data import make_clips, make_cluttered, make_scenes
from attnkit.serve import Limits
from attnkit.training.vision import ImageCaptioner, ImageClassifierPredictor


@pytest.fixture
def vision_client(serve_dirs, vision_dirs, model_dir):
    return serve_dirs({**vision_dirs, "tiny": model_dir})


def png(array: np.ndarray, *, data_url: bool = False, mode: str = "L") -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buffer, format="PNG")
    text = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/png;base64,{text}" if data_url else text


def test_models_list_the_vision_models(vision_client):
    models = {m["name"]: m for m in vision_client.get("/models").json()["models"]}
    assert models["scenes"] | {"vocab": 0} == {
        "name": "scenes", "task": "caption", "family": "captioner", "attention": "soft", "image_size": 64,
        "grid": [8, 8], "frames": None, "vocab": 0, "beam": 2, "max_words": 4}
    assert models["clips"]["frames"] == 7 and models["clips"]["grid"] is None
    assert models["ram"]["task"] == "classify_images" and models["ram"]["glimpses"] == 3
    assert models["ram"]["labels"] == models["cnn"]["labels"] and len(models["cnn"]["labels"]) == 10
    assert models["cnn"]["glimpses"] is None
    limits = vision_client.get("/models").json()["limits"]
    assert limits["max_image_bytes"] == Limits().max_image_bytes


def test_caption_agrees_with_the_captioner(vision_client, vision_dirs):
    scene = make_scenes("test", 1, seed=0)[0].image  # uint8 [64, 64]
    r = vision_client.post("/caption", json={"model": "scenes", "images": [png(scene), png(scene, data_url=True)],
                                             "beam": 1, "attention": True})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["beam"] == 1 and len(data["results"]) == 2
    first, second = data["results"]
    assert first == second  # base64 and the data: URL carry the same image
    expected = ImageCaptioner.from_dir(vision_dirs["scenes"]).caption([scene], beam=1)[0]
    assert first["text"] == expected.text and first["tokens"] == expected.tokens and first["grid"] == [8, 8]
    assert len(first["attention"]) == len(first["tokens"])
    assert all(len(row) == 64 and abs(sum(row) - 1) < 2e-3 for row in first["attention"])
    plain = vision_client.post("/caption", json={"model": "scenes", "images": [png(scene)]}).json()
    assert set(plain["results"][0]) == {"text", "score"} and plain["beam"] == 2  # the model's beam


def test_caption_resizes_colour_images(vision_client):
    rgb = np.zeros((100, 80, 3), dtype=np.uint8)
    rgb[20:60, 10:50] = (200, 30, 30)
    r = vision_client.post("/caption", json={"model": "scenes", "images": [png(rgb, mode="RGB")], "beam": 1})
    assert r.status_code == 200, r.text


def test_clips_are_captioned_frame_by_frame(vision_client, vision_dirs):
    clip = make_clips("test", 1, frames=7, seed=0)[0].frames  # uint8 [7, 48, 48]
    r = vision_client.post("/caption", json={"model": "clips", "clips": [[png(f) for f in clip]], "beam": 1,
                                             "attention": True})
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    expected = ImageCaptioner.from_dir(vision_dirs["clips"]).caption([clip], beam=1)[0]
    assert result["text"] == expected.text and "grid" not in result
    assert all(len(row) == 7 and abs(sum(row) - 1) < 2e-3 for row in result["attention"])
    wrong = vision_client.post("/caption", json={"model": "clips", "clips": [[png(f) for f in clip[:5]]]})
    assert wrong.status_code == 422 and "clips[0] has 5 frames" in wrong.json()["detail"]
    images = vision_client.post("/caption", json={"model": "clips", "images": [png(clip[0])]})
    assert images.status_code == 422 and "send 'clips'" in images.json()["detail"]
    clips = vision_client.post("/caption", json={"model": "scenes", "clips": [[png(clip[0])]]})
    assert clips.status_code == 422 and "send 'images'" in clips.json()["detail"]


def test_classify_images_with_and_without_glimpses(vision_client, vision_dirs):
    images = [np.round(x * 255).astype(np.uint8) for x in make_cluttered("test", 2)[0]]  # uint8 [60, 60]
    r = vision_client.post("/classify_images", json={"model": "ram", "images": [png(x) for x in images],
                                                     "attention": True})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    expected = ImageClassifierPredictor.from_dir(vision_dirs["ram"]).classify(images)
    for got, want in zip(results, expected, strict=True):
        assert got["label"] == want.label and abs(sum(got["probs"].values()) - 1) < 1e-3
        assert len(got["glimpses"]) == 3 and all(-1 <= v <= 1 for xy in got["glimpses"] for v in xy)
    cnn = vision_client.post("/classify_images", json={"model": "cnn", "images": [png(images[0])],
                                                       "attention": True}).json()["results"][0]
    assert "glimpses" not in cnn and cnn["label"] in cnn["probs"]


@pytest.mark.parametrize("image, status, message", [
    ("not base64!", 422, "images[0] is not base64"),
    ("data:image/png,raw", 422, "data: URL without base64 content"),
    (base64.b64encode(b"GIF89a not really").decode(), 422, "not an image Pillow can read"),
    ("", 422, "images[0] is empty"),
])
def test_bad_images_are_refused_by_name(vision_client, image, status, message):
    r = vision_client.post("/classify_images", json={"model": "cnn", "images": [image]})
    assert r.status_code == status and message in r.json()["detail"], r.text


def test_image_limits(serve_dirs, vision_dirs):
    client = serve_dirs({"cnn": vision_dirs["cnn"]}, limits=Limits(max_batch=2, max_image_bytes=2000,
                                                                   max_image_pixels=100 * 100))
    small = png(np.zeros((60, 60), dtype=np.uint8))
    r = client.post("/classify_images", json={"images": [small] * 3})
    assert r.status_code == 413 and r.json()["limit"] == "max_batch"
    noise = np.random.default_rng(0).integers(0, 256, (120, 120), dtype=np.uint8)  # PNG cannot compress it
    r = client.post("/classify_images", json={"images": [png(noise)]})
    assert r.status_code == 413 and r.json()["limit"] == "max_image_bytes"
    r = client.post("/classify_images", json={"images": [png(np.zeros((101, 101), dtype=np.uint8))]})
    assert r.status_code == 413 and r.json()["limit"] == "max_image_pixels" and "101 x 101" in r.json()["detail"]
    huge = client.post("/classify_images", content=b"{}", headers={"content-length": str(10**8),
                                                                    "content-type": "application/json"})
    assert huge.status_code == 413


def test_vision_models_answer_only_their_endpoint(vision_client):
    r = vision_client.post("/caption", json={"model": "ram", "images": ["x"]})
    assert r.status_code == 422 and "POST /classify_images" in r.json()["detail"]
    r = vision_client.post("/translate", json={"model": "scenes", "sentences": ["x"]})
    assert r.status_code == 422 and "POST /caption" in r.json()["detail"]
    r = vision_client.post("/caption", json={"images": ["x"]})
    assert r.status_code == 422 and "'model' is required" in r.json()["detail"]


def test_schema_documents_the_image_endpoints(vision_client):
    paths = vision_client.get("/openapi.json").json()["paths"]
    assert {"/caption", "/classify_images"} <= set(paths)
    assert "413" in paths["/caption"]["post"]["responses"]
