"""One config mechanism (maskwatch.settings): typed ranges, MASKWATCH_* from the environment, and one
error type that names the key, the value and the allowed range."""

from __future__ import annotations

import pytest

from maskwatch.detect.settings import DetectorSettings
from maskwatch.errors import ConfigError
from maskwatch.serve.settings import ServeSettings
from maskwatch.video.settings import VideoSettings


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        (
            DetectorSettings,
            {"conf": 1.5},
            "conf: 1.5 is out of range (allowed 0 .. 1)",
        ),
        (
            DetectorSettings,
            {"tiles": -1},
            "tiles: -1 is out of range (allowed 0 .. 8)",
        ),
        (
            DetectorSettings,
            {"score_threshold": 0.5},
            "score_threshold: unknown key (known keys here: conf, nms, upscale",
        ),
        (VideoSettings, {"classify_every": 0}, "classify_every: 0 is out of range (allowed >= 1)"),
        (VideoSettings, {"alpha": "fast"}, "alpha: expected a number, got 'fast'"),
        (ServeSettings, {"workers": 0}, "workers: 0 is out of range (allowed >= 1)"),
        (ServeSettings, {"max_pixels_in_flight": 5}, "max_pixels_in_flight (5) must be at least max_pixels"),
    ],
)
def test_one_error_type_names_key_value_and_range(model, values, message):
    with pytest.raises(ConfigError) as caught:
        model(**values)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)  # what Python callers passing a bad argument catch


def test_settings_are_typed_and_immutable():
    settings = DetectorSettings(conf="0.7", tiles="2")
    assert (settings.conf, settings.tiles) == (0.7, 2)
    with pytest.raises(Exception, match="frozen"):
        settings.conf = 0.1
    assert settings.with_(tiles=3).tiles == 3
    with pytest.raises(ConfigError, match="tiles: 99 is out of range"):
        settings.with_(tiles=99)


def test_server_settings_read_the_environment_and_flags_win(monkeypatch):
    environ = {"MASKWATCH_WORKERS": "3", "MASKWATCH_MAX_WAIT": "2.5", "MASKWATCH_CORS": "https://a.example/"}
    settings = ServeSettings.from_env(environ, queue=4)
    assert (settings.workers, settings.max_wait, settings.queue) == (3, 2.5, 4)
    assert settings.cors_origins == ("https://a.example",)
    assert ServeSettings.from_env(environ, workers=1).workers == 1
    with pytest.raises(ConfigError, match="workers: expected an integer, got 'many'"):
        ServeSettings.from_env({"MASKWATCH_WORKERS": "many"})
    monkeypatch.setenv("MASKWATCH_QUEUE", "7")  # the process environment, through pydantic-settings
    assert ServeSettings().queue == 7 and ServeSettings(queue=1).queue == 1
    assert ServeSettings.from_env({}).queue == 32  # an explicit mapping replaces the process environment


def test_the_pipeline_checks_its_settings_before_any_work(data_dir):
    from maskwatch.detect import detect
    from maskwatch.detect.faces import YuNetDetector
    from maskwatch.video.pipeline import VideoPipeline

    with pytest.raises(ConfigError, match="conf: 2 is out of range"):
        detect(next((data_dir / "voc3" / "images").iterdir()), conf=2, verbose=False)
    with pytest.raises(ConfigError, match="nms: 0 is out of range"):
        YuNetDetector("missing.onnx", nms_threshold=0)  # checked before the model file is even looked at

    class Labels:
        labels = ["with_mask", "without_mask"]

    with pytest.raises(ConfigError, match="queue_size: 0 is out of range"):
        VideoPipeline(Labels(), queue_size=0)


def test_detect_cli_options_come_from_the_detector_settings():
    """The command's ranges and help are the model's, so the CLI and detect() cannot drift apart."""
    import typer.main

    from maskwatch.cli import app
    from maskwatch.settings import bounds

    command = typer.main.get_command(app).commands["detect"]
    params = {p.name: p for p in command.params}
    for name in ("conf", "nms", "tiles", "min_face", "upscale"):
        low, high, _, _ = bounds(DetectorSettings.model_fields[name])
        assert (params[name].min, params[name].max) == (low, high), name
        assert params[name].help, name
    assert params["conf"].help == DetectorSettings.model_fields["conf"].description
    with pytest.raises(ConfigError, match="nms: 0.0 is out of range"):  # nms > 0: the model refuses the bound
        DetectorSettings(nms=params["nms"].min)


def test_set_key_value_is_checked_by_the_settings_model():
    """`--set KEY=VALUE` (as yolo takes it) gets its type and range from the same model as the flags."""
    from maskwatch.settings import overrides_for

    assert overrides_for(VideoSettings, ["classify_every=2", "adaptive=false", "detect_size=null"]) == {
        "classify_every": 2,
        "adaptive": False,
        "detect_size": None,
    }
    assert overrides_for(ServeSettings, {"keep_results": "4"}) == {"keep_results": 4}
    assert overrides_for(VideoSettings, None) == {}
    with pytest.raises(ConfigError, match=r"classify_every: 0 is out of range \(allowed >= 1\)"):
        overrides_for(VideoSettings, ["classify_every=0"])
    with pytest.raises(ConfigError, match="nope: unknown setting .*classify_every"):
        overrides_for(VideoSettings, ["nope=1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        overrides_for(VideoSettings, ["classify_every"])


def test_cli_set_reaches_the_python_twin(tmp_path, data_dir):
    """`maskwatch detect IMAGE --set classify_every=2` is detect(IMAGE, classify_every=2): a video option on
    an image is refused by detect() itself; `maskwatch serve --set` is serve(overrides=...), checked
    before anything starts."""
    from typer.testing import CliRunner

    from maskwatch.cli import app
    from maskwatch.serve.run import serve

    image = next((data_dir / "voc3" / "images").iterdir())
    runner = CliRunner()
    refused = runner.invoke(app, ["detect", str(image), "-q", "--set", "classify_every=2"])
    assert isinstance(refused.exception, ConfigError)
    assert "['classify_every'] only apply to video" in str(refused.exception)
    unknown = runner.invoke(app, ["detect", str(image), "-q", "--set", "nope=1"])
    assert isinstance(unknown.exception, ConfigError) and "nope: unknown setting" in str(unknown.exception)
    with pytest.raises(ConfigError, match="keep_results: -1 is out of range"):
        serve(port=0, overrides=["keep_results=-1"])
