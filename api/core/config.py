"""Service settings from ``REVIEWPULSE_*`` environment variables (pydantic-settings).

Example::

    REVIEWPULSE_DATA_DIR=/var/lib/reviewpulse reviewpulse serve
    REVIEWPULSE_DATABASE_URL=postgresql+psycopg://app@db/reviewpulse reviewpulse db upgrade

List values (``REVIEWPULSE_CORS_ORIGINS``) are JSON: ``'["https://shop.example"]'``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service and the store-touching CLI commands read from the environment.

    Attributes:
        data_dir: folder for the embedded SQLite database (created on first use).
        database_url: SQLAlchemy URL; default ``sqlite:///<data_dir>/reviewpulse.db``.
        cors_origins: origins allowed to call the API from a browser (the chat widget).
        rate_limit_per_minute: requests per API key per minute.
        max_body_bytes: largest accepted request body, in bytes.
        metrics_enabled: serve ``GET /metrics`` (Prometheus).
        analyze_max_documents: documents per ``POST /v1/analyze`` request.
        analyze_max_chars: characters per document.
        knowledge_base: the shop's answers file for ``POST /v1/answer`` (default: the shipped example).
        rasa_url: the Rasa server the chat widget of the demo shop (``/demo``) talks to.
        demo_enabled: serve the demo shop at ``/demo`` (its pages show catalogue entries without a key).
    """

    model_config = SettingsConfigDict(env_prefix="REVIEWPULSE_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    cors_origins: list[str] = []
    rate_limit_per_minute: int = 600
    max_body_bytes: int = 2_000_000
    metrics_enabled: bool = True
    analyze_max_documents: int = 100
    analyze_max_chars: int = 20_000
    knowledge_base: Path | None = None
    rasa_url: str = "http://localhost:5005"
    demo_enabled: bool = True

    @field_validator("rasa_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.database_url = f"sqlite:///{self.data_dir / 'reviewpulse.db'}"
        return self

    @property
    def db_url(self) -> str:
        """``database_url``, never None after validation (a typed accessor for callers)."""
        assert self.database_url is not None
        return self.database_url


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
