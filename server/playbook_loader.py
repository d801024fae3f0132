"""Loading the active playbook file (the shipped one unless SALESGATE_PLAYBOOK names another)."""

from __future__ import annotations

from pathlib import Path

from server.domain.playbook import Playbook, PlaybookInvalid, parse_playbook
from server.settings import Settings

DEFAULT_PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "default.yaml"


def playbook_path(settings: Settings) -> Path:
    return Path(settings.playbook) if settings.playbook else DEFAULT_PLAYBOOK


def read_playbook(path: Path) -> tuple[str, Playbook]:
    """The file's text and the playbook it holds (PlaybookInvalid when it cannot be read or is wrong)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        from server.domain.playbook import PlaybookProblem

        raise PlaybookInvalid([PlaybookProblem(None, "$", f"cannot read {path}: {exc}")]) from None
    return text, parse_playbook(text)


def load_playbook(path: Path) -> Playbook:
    return read_playbook(path)[1]
