"""Settings: one frozen dataclass; defaults < TOML file < POLICY_QA_* environment <
explicit overrides; bad values are a ConfigError that names the value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from index.errors import ConfigError
from qa.settings import BUNDLED_POLICY, Settings, load_settings


@pytest.fixture()
def toml(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "policy-qa.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_defaults():
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.model == "all-MiniLM-L6-v2"
    assert settings.top_k == 3
    assert settings.max_question_chars == 1000
    assert 0.0 < settings.threshold < 1.0
    assert settings.policy == BUNDLED_POLICY and BUNDLED_POLICY.is_file()
    assert settings.index.name == "index"
    assert settings.base_url == "" and settings.inbox == ""


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().top_k = 5  # type: ignore[misc]


def test_toml_file_overrides_defaults(toml, tmp_path):
    path = toml('index = "~/pqa/index"\ntop_k = 5\nthreshold = 0.3\n'
                'base_url = "https://acme.example/privacy"\nmax_question_chars = 500\n')
    settings = load_settings(path, env={})
    assert settings.top_k == 5
    assert settings.threshold == 0.3
    assert settings.index == Path("~/pqa/index").expanduser()
    assert settings.base_url == "https://acme.example/privacy"
    assert settings.max_question_chars == 500
    assert settings.model == Settings().model  # untouched fields keep their defaults


def test_toml_policy_qa_table_is_read(toml):
    assert load_settings(toml("[policy_qa]\ntop_k = 4\n"), env={}).top_k == 4


def test_environment_overrides_toml(toml):
    path = toml("top_k = 5\nthreshold = 0.3\n")
    env = {"POLICY_QA_CONFIG": str(path), "POLICY_QA_TOP_K": "7", "POLICY_QA_MODEL": "/m",
           "POLICY_QA_INDEX": "/srv/index", "POLICY_QA_BASE_URL": "https://x.example/p",
           "POLICY_QA_MAX_QUESTION_CHARS": "200", "POLICY_QA_INBOX": "dpo@x.example"}
    settings = load_settings(env=env)
    assert settings.top_k == 7  # env wins
    assert settings.threshold == 0.3  # TOML still applies where env is silent
    assert settings.model == "/m"
    assert settings.index == Path("/srv/index")
    assert settings.base_url == "https://x.example/p"
    assert settings.max_question_chars == 200
    assert settings.inbox == "dpo@x.example"
    assert load_settings(env={**env, "POLICY_QA_THRESHOLD": "0.6"}).threshold == 0.6


def test_empty_environment_values_are_ignored():
    assert load_settings(env={"POLICY_QA_TOP_K": ""}).top_k == 3


def test_explicit_overrides_beat_the_environment(toml):
    env = {"POLICY_QA_CONFIG": str(toml("top_k = 5\n")), "POLICY_QA_TOP_K": "7"}
    assert load_settings(env=env, top_k=9).top_k == 9
    assert load_settings(env=env, top_k=None).top_k == 7  # unset CLI flags change nothing


def test_replace_converts_values_like_the_environment():
    settings = Settings().replace(top_k="4", index="/tmp/x", threshold="0.2")
    assert (settings.top_k, settings.index, settings.threshold) == (4, Path("/tmp/x"), 0.2)


@pytest.mark.parametrize(
    ("name", "value", "needles"),
    [
        ("TOP_K", "three", ("top_k", "'three'")),
        ("TOP_K", "0", ("top_k", "0")),
        ("TOP_K", "-2", ("top_k", "-2")),
        ("THRESHOLD", "high", ("threshold", "'high'")),
        ("THRESHOLD", "1.5", ("threshold", "1.5")),
        ("THRESHOLD", "-0.1", ("threshold", "-0.1")),
        ("THRESHOLD", "nan", ("threshold", "nan")),
        ("MAX_QUESTION_CHARS", "0", ("max_question_chars", "0")),
        ("MAX_QUESTION_CHARS", "1e3", ("max_question_chars", "'1e3'")),
        ("SMTP_TLS", "tls13", ("smtp_tls", "'tls13'")),
        # uvicorn would take 99999 modulo 65536 and listen on another port than printed
        ("PORT", "99999", ("port", "99999")),
        ("PORT", "0", ("port", "0")),
        ("SMTP_PORT", "70000", ("smtp_port", "70000")),
        # every answer link is base_url + "#section": relative or script URLs go nowhere
        ("BASE_URL", "www.example.com/privacy/", ("base_url", "'www.example.com/privacy/'")),
        ("BASE_URL", "javascript:alert(1)", ("base_url", "'javascript:alert(1)'")),
        ("BASE_URL", "https://example.com/privacy#top", ("base_url", "#fragment")),
        ("BASE_URL", "http://[::1/privacy", ("base_url",)),  # urlsplit itself refuses it
        ("PUBLIC_URL", "https://help.example?x=1", ("public_url", "no query")),
    ],
)
def test_bad_environment_values_name_the_value(name, value, needles):
    with pytest.raises(ConfigError) as info:
        load_settings(env={f"POLICY_QA_{name}": value})
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("top_k = [1, 2]\n", ("top_k", "[1, 2]")),
        ("threshold = 7\n", ("threshold", "7")),
        ("colour = 'blue'\n", ("'colour'",)),
        ("top_k = \n", ("not valid TOML",)),
    ],
)
def test_bad_toml_values_name_the_value(toml, text, needles):
    path = toml(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_a_policy_page_address_is_kept_as_given():
    url = "https://example.com/legal/privacy/?lang=en"
    assert load_settings(env={"POLICY_QA_BASE_URL": f"  {url} "}).base_url == url
    assert load_settings(env={"POLICY_QA_PORT": "65535"}).port == 65535


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(env={"POLICY_QA_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize("text", ["top_k = 2.5\n", "threshold = true\n"])
def test_toml_values_of_the_wrong_type_are_refused(toml, text):
    with pytest.raises(ConfigError):
        load_settings(toml(text), env={})


def test_xdg_data_home_is_read_by_load_settings_not_at_import(tmp_path):
    moved = load_settings(env={"XDG_DATA_HOME": str(tmp_path)})
    assert moved.index == tmp_path / "policy-qa" / "index"
    assert moved.outbox == tmp_path / "policy-qa" / "outbox.sqlite3"
    explicit = load_settings(env={"XDG_DATA_HOME": str(tmp_path),
                                  "POLICY_QA_INDEX": str(tmp_path / "mine")})
    assert explicit.index == tmp_path / "mine"
    assert Settings().index == Path.home() / ".local" / "share" / "policy-qa" / "index"
