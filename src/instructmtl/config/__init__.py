"""Config parsing: YAML files and presets become frozen pydantic models, once, at the edge."""

from instructmtl.config.loading import apply_overrides, config_hash, dump_yaml, read_yaml, validate

__all__ = ["apply_overrides", "config_hash", "dump_yaml", "read_yaml", "validate"]
