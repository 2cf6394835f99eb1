"""Settings read from the environment: pacing is the engine's own setting."""

from __future__ import annotations

import pytest

from campaigns.errors import ConfigurationError
from campaigns.pacing import UK_RULE, PacingConfig, PacingMode
from flows.settings import Settings


def test_pacing_defaults_to_the_engine_default() -> None:
    assert Settings(_env_file=None).pacing_config() == PacingConfig()  # type: ignore[call-arg]


def test_pacing_is_read_from_its_own_field() -> None:
    s = Settings(_env_file=None, pacing={"mode": "progressive", "rule": "UK"})  # type: ignore[call-arg]
    config = s.pacing_config()
    assert config.mode is PacingMode.PROGRESSIVE and config.abandon == UK_RULE


def test_the_older_dialer_options_entry_still_works_and_leaves_the_adapter() -> None:
    s = Settings(  # type: ignore[call-arg]
        _env_file=None, dialer_options={"seed": 3, "pacing": {"mode": "progressive"}}
    )
    assert s.dialer_options == {"seed": 3}
    assert s.pacing_config().mode is PacingMode.PROGRESSIVE


def test_the_pacing_field_wins_over_the_older_entry() -> None:
    s = Settings(  # type: ignore[call-arg]
        _env_file=None,
        dialer_options={"pacing": {"mode": "progressive", "cap": 0.02}},
        pacing={"mode": "predictive"},
    )
    assert s.pacing == {"mode": "predictive", "cap": 0.02}


def test_both_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOUND_PACING", '{"mode": "preview"}')
    assert Settings(_env_file=None).pacing_config().mode is PacingMode.PREVIEW  # type: ignore[call-arg]
    monkeypatch.delenv("OUTBOUND_PACING")
    monkeypatch.setenv("OUTBOUND_DIALER_OPTIONS", '{"pacing": {"mode": "progressive"}}')
    assert Settings(_env_file=None).pacing_config().mode is PacingMode.PROGRESSIVE  # type: ignore[call-arg]


def test_unusable_pacing_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Settings(_env_file=None, pacing={"nonsense": 1}).pacing_config()  # type: ignore[call-arg]
