"""Fault injection into a real `sf` process: a launcher that patches one function to raise once a
trigger file exists, then runs the CLI as `sf` would. Nothing in the product knows about it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

# argv: TRIGGER KIND TARGET SF-ARGS...; KIND is
#   function      module:name          replace a module-level function (as the caller sees it)
#   method        module:Class.name    replace a method on the class itself (every instance)
#   local-method  module:Class.name    replace it on a subclass bound in `module` only, so other
#                                       modules using the same class are untouched
LAUNCHER = """
import functools, importlib, pathlib, sys

trigger, kind, target = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
del sys.argv[1:4]

def when_triggered(original):
    @functools.wraps(original)
    def faulty(*args, **kwargs):
        if trigger.exists():
            raise RuntimeError(f"injected fault in {target}")
        return original(*args, **kwargs)
    return faulty

module_name, _, path = target.partition(":")
module = importlib.import_module(module_name)
if kind == "function":
    setattr(module, path, when_triggered(getattr(module, path)))
else:
    owner_name, name = path.split(".")
    owner = getattr(module, owner_name)
    if kind == "local-method":
        owner = type(owner.__name__, (owner,), {})
        setattr(module, owner_name, owner)
    setattr(owner, name, when_triggered(getattr(owner, name)))

from sf_cli.main import run
sys.argv[0] = "sf"
run()
"""


def faulty_sf(trigger: Path, kind: str, target: str) -> Sequence[str]:
    """The `program` for Children.start: `sf` with `target` raising once `trigger` exists."""
    return (sys.executable, "-c", LAUNCHER, str(trigger), kind, target)
