"""Piccolo's configuration module, used by its migration machinery.

The engine is not built here at import time: ``server.db.configure`` sets it
from the Settings the app was started with. Piccolo's own CLI (used by
developers to generate migrations) falls back to the environment.
"""

from piccolo.conf.apps import AppRegistry

APP_REGISTRY = AppRegistry(apps=["server.piccolo_app"])


def __getattr__(name: str):
    if name == "DB":
        from server import db

        return db.current_engine_or_env()
    raise AttributeError(name)
