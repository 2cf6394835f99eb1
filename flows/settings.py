"""Settings from the environment (prefix OUTBOUND_) with defaults that need no setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from campaigns.errors import ConfigurationError, ValidationError
from campaigns.intake import ListLimits
from campaigns.pacing import PacingConfig
from campaigns.trial import TrialSample, TrialThresholds, trial_config


class Settings(BaseSettings):
    """Everything the composition root needs; read once per process by `bootstrap()`."""

    model_config = SettingsConfigDict(env_prefix="OUTBOUND_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where the embedded database lives")
    database_url: str = Field(default="", description="SQLAlchemy URL; SQLite in data_dir if empty")
    timezone: str = Field(default="Asia/Shanghai", description="the center's time zone")
    dialer: str = Field(default="simulator", description="dialer adapter name (entry point)")
    dialer_options: dict[str, Any] = Field(
        default_factory=dict, description="keyword options of the dialer adapter"
    )
    pacing: dict[str, Any] = Field(
        default_factory=dict,
        description='how the engine paces calls, e.g. {"mode": "progressive", "rule": "UK"}; '
        "empty: predictive under the US abandon rule. The older OUTBOUND_DIALER_OPTIONS "
        '{"pacing": {...}} still works; OUTBOUND_PACING wins over it',
    )
    trial: dict[str, Any] = Field(
        default_factory=dict,
        description='the trial sample and thresholds, e.g. {"size": 200} or {"share": 0.05, '
        '"max_size": 500, "min_connect_rate": 0.2, "max_abandon_rate": 0.03, '
        '"review_margin": 0.25}; empty: the defaults of campaigns.trial',
    )
    reports_dir: Path = Field(
        default=Path(""), description="report files; data_dir/reports if empty"
    )
    prefect_api_url: str | None = Field(
        default=None, description="Prefect server; ephemeral if unset"
    )
    prefect_deployment: str | None = Field(
        default=None,
        description="run campaign flows from this deployment on the Prefect server (made by "
        "`outbound serve`: campaign/outbound), so a paused campaign's run is suspended; "
        "in the CLI's process if unset",
    )
    webhook_timeout: float = 10.0
    webhook_secret: SecretStr | None = None
    list_max_mb: float = Field(default=200.0, description="largest list file accepted")
    list_max_rows: int = Field(default=2_000_000, description="most rows per request")
    list_max_problem_share: float = Field(
        default=0.2, description="share of bad rows that rejects a request whole"
    )
    approval_round_seconds: int = Field(
        default=3600, description="each wait for a reviewer on a Prefect server; it loops"
    )
    approval_poll_seconds: int = Field(default=10, description="how often a paused flow checks")
    subscriber_source: str = Field(
        default="snapshot", description="where cleaning looks subscribers up: snapshot or crm"
    )
    crm_url: str | None = Field(default=None, description="base URL of the operator's CRM")
    crm_token: SecretStr | None = None
    crm_batch_size: int = 500
    crm_timeout: float = 10.0

    def pacing_config(self) -> PacingConfig:
        """The pacing these settings describe (a ConfigurationError if they are unusable)."""
        return PacingConfig.from_options(self.pacing)

    def trial_config(self) -> tuple[TrialSample, TrialThresholds]:
        """The trial sample and thresholds set here (a ConfigurationError if unusable)."""
        try:
            return trial_config(self.trial)
        except ValidationError as exc:
            raise ConfigurationError(f"OUTBOUND_TRIAL: {exc}") from exc

    def list_limits(self) -> ListLimits:
        """The list file limits these settings describe."""
        return ListLimits(
            max_bytes=int(self.list_max_mb * 1024 * 1024),
            max_rows=self.list_max_rows,
            max_problem_share=self.list_max_problem_share,
        )

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'outbound.db').as_posix()}"
        if "pacing" in self.dialer_options:
            # Pacing is the engine's, not the adapter's: take it out of the adapter's options.
            options = dict(self.dialer_options)
            legacy = options.pop("pacing") or {}
            self.dialer_options = options
            self.pacing = {**legacy, **self.pacing}
        if self.reports_dir == Path(""):
            self.reports_dir = self.data_dir / "reports"
        return self
