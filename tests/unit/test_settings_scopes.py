"""Claude Code's scopes as `config.load` reads them: order, what each value hides, `{repo}`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from claudetracing.core import config as config_mod
from claudetracing.core import naming, settings_scopes
from claudetracing.core.errors import TracesError

KEY = "CLAUDETRACING_EXPERIMENT"


def _write(path: Path, env: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"env": env}), encoding="utf-8")
    return path


@pytest.fixture
def managed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "etc" / "managed-settings.json"
    monkeypatch.setenv("CLAUDETRACING_MANAGED_SETTINGS", str(path))
    return path


def test_each_scope_overrides_the_one_below_as_claude_code_does(
    tmp_path: Path, isolated: Path, managed: Path
) -> None:
    root = tmp_path / "repo"
    order = [
        ("user", _write(isolated / ".claude/settings.json", {KEY: "u"})),
        ("project", _write(root / ".claude/settings.json", {KEY: "p"})),
        ("local", _write(root / ".claude/settings.local.json", {KEY: "l"})),
        ("managed", _write(managed, {KEY: "m"})),
    ]
    value = config_mod.load(root, environ={}).values[KEY]
    assert (value.value, value.scope) == ("m", "managed")
    assert [(v.scope, v.value) for v in value.shadowed] == [
        ("user", "u"),
        ("project", "p"),
        ("local", "l"),
    ]
    for n in range(len(order) - 1, 0, -1):  # take the top one away: the next one shows
        order[n][1].unlink()
        found = config_mod.load(root, environ={}).values[KEY]
        assert found.scope == order[n - 1][0]
    assert config_mod.load(root, environ={KEY: "e"}).values[KEY].scope == "env"


def test_an_environment_equal_to_a_file_keeps_the_files_scope(
    tmp_path: Path, isolated: Path, managed: Path
) -> None:
    _write(isolated / ".claude/settings.json", {KEY: "u"})
    value = config_mod.load(tmp_path, environ={KEY: "u"}).values[KEY]
    assert (value.scope, value.shadowed) == ("user", [])


def test_the_home_folder_reads_the_user_settings_once(isolated: Path, managed: Path) -> None:
    scopes = [layer.scope for layer in settings_scopes.layers(isolated)]
    assert scopes == ["user", "managed"]


def test_repo_placeholder_is_each_repositorys_name(tmp_path: Path, isolated: Path) -> None:
    _write(isolated / ".claude/settings.json", {KEY: "/Users/a@b.c/claude-code/{repo}"})
    for name in ("alpha", "beta two"):
        (tmp_path / name).mkdir()
        cfg = config_mod.load(tmp_path / name, environ={})
        assert cfg.experiment == f"/Users/a@b.c/claude-code/{naming.repo_component(name)}"


def test_managed_path_is_the_systems_unless_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDETRACING_MANAGED_SETTINGS", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert settings_scopes.managed_settings_path() == Path("/etc/claude-code/managed-settings.json")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert str(settings_scopes.managed_settings_path()).startswith(
        "/Library/Application Support/ClaudeCode/"
    )


@pytest.mark.parametrize(
    ("path", "user", "ok"),
    [
        ("/Users/a@b.c/claude-code/{repo}", "a@b.c", True),
        ("/Shared/claude-code/{repo}-traces", None, True),
        ("/Users/other@b.c/claude-code/{repo}", "a@b.c", False),  # not your folder
        ("/Shared/{repo}/traces", None, False),  # a folder the exporter cannot create
        ("/Repos/x/{repo}", None, False),
    ],
)
def test_experiment_templates_are_checked_like_paths(path: str, user: str | None, ok: bool) -> None:
    if ok:
        assert naming.validate_template(path, user) == path
    else:
        with pytest.raises(TracesError):
            naming.validate_template(path, user)


def test_a_managed_file_that_cannot_be_read_is_no_layer_but_a_broken_one_stops_us(
    tmp_path: Path, isolated: Path, managed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claudetracing.core import claude_settings
    from claudetracing.core.errors import ConfigFileError

    _write(managed, {KEY: "m"})
    real = claude_settings.env_of

    def denied(path: Path) -> dict[str, str]:
        if path == managed:  # what root cannot be shown: a file others may not read
            raise ConfigFileError(f"cannot read {path}", "") from PermissionError(13, "denied")
        return real(path)

    monkeypatch.setattr(claude_settings, "env_of", denied)
    assert config_mod.load(tmp_path, environ={}).values[KEY].scope == "default"
    monkeypatch.setattr(claude_settings, "env_of", real)
    managed.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=str(managed)):
        config_mod.load(tmp_path, environ={})
