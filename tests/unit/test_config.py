import pytest

from hub.config import load_settings, parse_duration
from hub.errors import ConfigurationError


def test_durations() -> None:
    assert parse_duration("1m") == 60
    assert parse_duration("2h") == 7200
    assert parse_duration("250ms") == 0.25
    assert parse_duration("15") == 15
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_env_configures_the_hub(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_RETRY_LADDER", "1s,5s")
    monkeypatch.setenv("HUB_AGENCIES__ROP__URL", "http://127.0.0.1:9/rop")
    settings = load_settings()
    assert settings.retry_delays_s == [1.0, 5.0]
    assert settings.resolved_database_url.endswith("hub.sqlite3")
    assert str(tmp_path) in settings.resolved_broker_url
    assert settings.agencies["rop"].url == "http://127.0.0.1:9/rop"


def test_toml_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    toml = tmp_path / "hub.toml"
    toml.write_text('http_port = 9090\nretry_ladder = "10s"\n')
    monkeypatch.setenv("HUB_CONFIG_FILE", str(toml))
    settings = load_settings()
    assert settings.http_port == 9090 and settings.retry_delays_s == [10.0]


def test_bad_ladder_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_RETRY_LADDER", "1m,later")
    with pytest.raises(ConfigurationError, match="later"):
        load_settings()
