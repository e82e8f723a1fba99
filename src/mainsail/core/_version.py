"""The version of Mainsail (one place; ``pyproject.toml`` holds the same string)."""

VERSION = "0.1.0"
