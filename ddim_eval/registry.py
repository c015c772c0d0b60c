"""Moved to ddim_eval.models.registry: an old import path, kept for existing scripts."""

from ddim_eval.models.registry import DEFAULT_REGISTRY, ModelSpec, get_model_spec, load_registry

__all__ = ["DEFAULT_REGISTRY", "ModelSpec", "get_model_spec", "load_registry"]
