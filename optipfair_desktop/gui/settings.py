"""Every GUI setting in one place: key, default and type, stored in an INI file in config_dir()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

from optipfair_desktop.engine.paths import config_dir
from optipfair_desktop.engine.protection import DEFAULT_PROTECTED_FIRST, DEFAULT_PROTECTED_LAST

SETTINGS_VERSION = 1


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    kind: type


PROTECTED_FIRST = Setting("diagram/protected_first", DEFAULT_PROTECTED_FIRST, int)
PROTECTED_LAST = Setting("diagram/protected_last", DEFAULT_PROTECTED_LAST, int)
LAST_MODEL = Setting("session/last_model", "", str)
LAST_SAVE_PARENT = Setting("session/last_save_parent", "", str)
WINDOW_GEOMETRY = Setting("window/geometry", b"", bytes)
WINDOW_STATE = Setting("window/state", b"", bytes)


def open_settings() -> QSettings:
    settings = QSettings(str(config_dir() / "settings.ini"), QSettings.Format.IniFormat)
    if settings.value("version", SETTINGS_VERSION, int) != SETTINGS_VERSION:
        # NOTE: no migrations exist yet; an unknown version starts from the defaults.
        settings.clear()
    settings.setValue("version", SETTINGS_VERSION)
    return settings


def read(settings: QSettings, setting: Setting) -> Any:
    value = settings.value(setting.key, setting.default)
    if value is None:
        return setting.default
    try:
        if setting.kind is bytes:
            return bytes(value)
        return setting.kind(value)
    except (TypeError, ValueError):
        return setting.default


def write(settings: QSettings, setting: Setting, value: Any) -> None:
    settings.setValue(setting.key, value)
