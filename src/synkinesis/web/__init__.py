"""Clinic web app: a thin FastAPI layer over the measurement core and `synkinesis.store`.

`create_app(settings)` builds the app; `synkinesis serve` runs it with a background analysis worker.
Imports are lazy so the command line does not load FastAPI/SQLAlchemy for `analyze` or `score`.
"""


def __getattr__(name):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(name)


__all__ = ["create_app", "Settings"]
