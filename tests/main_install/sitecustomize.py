"""Loaded at interpreter start-up by tests that put this folder on PYTHONPATH (helpers.main_install_env): modules
named in $DDIM_EVAL_TEST_ABSENT then fail to import as if they were not installed. The tests name there every
module that `pip install -e .` (the README's first command) does not install, so a workflow run under this guard
shows what a user without the test extra gets."""

import importlib.util
import os
import sys
from importlib.abc import MetaPathFinder

_ABSENT = frozenset(filter(None, os.environ.get("DDIM_EVAL_TEST_ABSENT", "").split(",")))


class _Absent(MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in _ABSENT:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not installed by `pip install -e .`)",
                                      name=fullname)
        return None


def _find_spec(name, package=None, _find=importlib.util.find_spec):
    # A probe for an optional module (torch probes for hypothesis) answers None, as it does where it is not installed.
    return None if name.partition(".")[0] in _ABSENT else _find(name, package)


sys.meta_path.insert(0, _Absent())
importlib.util.find_spec = _find_spec
