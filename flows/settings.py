"""Settings from the environment (prefix OUTBOUND_) with defaults that need no setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the composition root needs; read once per process by `bootstrap()`."""

    model_config = SettingsConfigDict(env_prefix="OUTBOUND_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where the embedded database lives")
    database_url: str = Field(default="", description="SQLAlchemy URL; SQLite in data_dir if empty")
    dialer: str = Field(default="simulator", description="dialer adapter name (entry point)")
    dialer_options: dict[str, Any] = Field(default_factory=dict)
    reports_dir: Path = Field(
        default=Path(""), description="report files; data_dir/reports if empty"
    )
    prefect_api_url: str | None = Field(
        default=None, description="Prefect server; ephemeral if unset"
    )
    webhook_timeout: float = 10.0
    webhook_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'outbound.db').as_posix()}"
        if self.reports_dir == Path(""):
            self.reports_dir = self.data_dir / "reports"
        return self
