"""Tiny configurations for end-to-end runs through the command line."""

from pathlib import Path

import pytest
import yaml


@pytest.fixture
def tiny_config(tmp_path: Path, tiny_dict: dict):
    """Write the tiny config (sections optionally changed) to a YAML file and return its path."""

    def make(**sections) -> Path:
        cfg = {k: dict(v) if isinstance(v, dict) else v for k, v in tiny_dict.items()}
        for section, values in sections.items():
            cfg[section] = {**cfg.get(section, {}), **values} if isinstance(values, dict) else values
        path = tmp_path / f"tiny_{len(list(tmp_path.glob('tiny_*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        return path

    return make
