"""Loaded at interpreter start-up by tests that put this folder on PYTHONPATH (helpers.main_install_env): modules
named in $DDIM_EVAL_TEST_ABSENT then fail to import as if they were not installed. The tests name there every
module that `pip install -e .` (the README's first command) does not install, so a workflow run under this guard
shows what a user without the test extra gets."""

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


sys.meta_path.insert(0, _Absent())
