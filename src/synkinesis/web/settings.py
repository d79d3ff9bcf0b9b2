"""Settings from CLI options or the environment (SYNKINESIS_* variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SYNKINESIS_{name}", default)


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "data")))
    database_url: str | None = field(default_factory=lambda: _env("DATABASE_URL"))
    max_upload_mb: float = field(default_factory=lambda: float(_env("MAX_UPLOAD_MB", "200")))
    # Any other request body (forms, JSON) is refused above this many bytes.
    max_request_bytes: int = 1024 * 1024
    # None: Secure cookies whenever the request came over https; True forces it (behind a TLS proxy).
    cookie_secure: bool | None = field(default_factory=lambda: True if _env("SECURE_COOKIES", "") in ("1", "true", "yes")
                                       else None)
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto headers are believed (none: never).
    trusted_proxies: list[str] = field(default_factory=lambda: [h.strip() for h in _env("TRUSTED_PROXY", "").split(",")
                                                                if h.strip()])
    session_hours: float = 12.0
    # Log-in limits (security.login_wait_s): per user name and address, then growing delays.
    login_max_failures: int = 5
    login_delay_s: int = 60
    login_delay_max_s: int = 60 * 60
    login_address_max_failures: int = 50  # one address, any names, within login_window_s
    login_window_s: int = 15 * 60
    run_worker: bool = True  # start a worker thread with the app
    worker_poll_s: float = 1.0
    # Guided recording: multiplies every step's duration (tests run it faster).
    protocol_speed: float = 1.0
    face_check_frames: int = 6  # frames sampled at upload to refuse recordings without a face

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'synkinesis.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
