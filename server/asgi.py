"""ASGI entry for running app processes under uvicorn/granian directly:

    uvicorn --factory server.asgi:app

Settings are read from the environment (and .env) when the factory is called.
"""

import os
from pathlib import Path

from server.app import create_app
from server.settings import load_settings, read_dotenv


def app():
    settings = load_settings({**read_dotenv(Path(".env")), **os.environ})
    return create_app(settings, run_jobs=False)
