"""A config against the workflow's JSON schema, as one line: the key path, the bad value, what is allowed, and the
nearest allowed key for a misspelled one. (Snakemake's own validation prints the whole schema after the error.)"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml


def _alternatives(error: Any) -> str:
    # anyOf / oneOf: name what each alternative wants (a type, a constant, an enum), not just "none matched".
    wants = []
    for option in error.schema.get(error.validator, []):
        if "const" in option:
            wants.append(repr(option["const"]))
        elif "enum" in option:
            wants.append(f"one of {option['enum']}")
        elif "type" in option:
            kind = option["type"]
            wants.append(f"{'an' if str(kind)[0] in 'aeiou' else 'a'} {kind}" if isinstance(kind, str)
                         else f"one of types {kind}")
    return f"; allowed: {' or '.join(wants)}" if wants else ""


def schema_error(config: dict[str, Any], schema_path: str | os.PathLike) -> str | None:
    """The config's most relevant schema violation as one line (None if it is valid)."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "config"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        named = []
        for key in unknown:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            named.append(f"{key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        return f"{where}: unknown key {', '.join(named)}; allowed: {', '.join(allowed)}"
    if error.validator in ("anyOf", "oneOf"):
        return f"{where}: {error.instance!r} is not allowed{_alternatives(error)}"
    return f"{where}: {error.message}"
