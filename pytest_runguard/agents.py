"""Agents: the callables a sweep, a property test or a scenario file runs.

An agent is ``agent(client, **kwargs)``.  A plain ``def`` gets
``sim.client()``; an ``async def`` gets ``sim.async_client()`` and runs on the
simulation's virtual-time loop.  An agent that declares a ``sim`` parameter
also receives the simulation (to read ``sim.clock`` or ``sim.score``).

A scenario file names its agent as ``module:function``; the module's file is
recorded beside it so a test module that is not importable from the replaying
process (pytest puts test directories on ``sys.path`` itself) still loads.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from pytest_runguard.examples import note_agent
from simulator.errors import ScenarioError, UsageError

Agent = Callable[..., Any]


@dataclass(frozen=True)
class AgentEntry:
    """Where an agent can be found again: ``module:qualname`` and its file."""

    name: str
    file: Path | None = None


def run_agent(sim: Any, agent: Agent, /, **kwargs: Any) -> Any:
    """Run ``agent`` against ``sim`` and return what it returns."""
    note_agent(sim, agent, kwargs)
    if _wants_sim(agent):
        kwargs = {**kwargs, "sim": sim}
    if inspect.iscoroutinefunction(agent):
        return sim.run(agent(sim.async_client(), **kwargs))
    return agent(sim.client(), **kwargs)


_WANTS_SIM: dict[Agent, bool] = {}


def _wants_sim(agent: Agent) -> bool:
    # Agents run thousands of times per sweep; inspect each one once.
    try:
        return _WANTS_SIM[agent]
    except KeyError:
        pass
    except TypeError:  # an unhashable callable object
        return _signature_has_sim(agent)
    wants = _signature_has_sim(agent)
    _WANTS_SIM[agent] = wants
    return wants


def _signature_has_sim(agent: Agent) -> bool:
    try:
        parameters = inspect.signature(agent).parameters
    except (TypeError, ValueError):
        return False
    return "sim" in parameters and parameters["sim"].kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


def agent_entry(agent: Agent) -> AgentEntry:
    """The ``module:qualname`` that finds ``agent`` again in another process.

    Lambdas and functions defined inside other functions cannot be found by
    name; they are refused here, before a sweep runs, with the fix.
    """
    module = getattr(agent, "__module__", None)
    qualname = getattr(agent, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise UsageError(
            f"agent {agent!r} cannot be recorded in a scenario file: it has no "
            "importable name; define it at module level (def my_agent(client, "
            "**kwargs)) so replays can import it as module:function"
        )
    source = getattr(sys.modules.get(module), "__file__", None)
    return AgentEntry(f"{module}:{qualname}", Path(source) if source else None)


def load_agent(name: str, *, file: Path | None = None, where: str = "") -> Agent:
    """Import the agent ``module:qualname``, from ``file`` if the module is not
    importable (or is another module of the same name)."""
    prefix = f"{where}: " if where else ""
    module_name, sep, qualname = name.partition(":")
    if not sep or not module_name or not qualname:
        raise ScenarioError(
            f"{prefix}agent: {name!r} is not module:function; write e.g. "
            'agent = "my_package.agents:run_loop"'
        )
    module = _import(module_name, file, prefix)
    target: Any = module
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ScenarioError(
                f"{prefix}agent: {module_name} has no {qualname!r}; fix the "
                "agent entry or restore the function"
            ) from None
    if not callable(target):
        raise ScenarioError(f"{prefix}agent: {name} is not callable")
    return cast(Agent, target)


def _import(module_name: str, file: Path | None, prefix: str) -> ModuleType:
    loaded = sys.modules.get(module_name)
    if loaded is not None and _same_file(loaded, file):
        return loaded
    if file is None or not file.is_file():
        try:
            return importlib.import_module(module_name)
        except ImportError as exc:
            hint = f" (and {file} does not exist)" if file is not None else ""
            raise ScenarioError(
                f"{prefix}agent: cannot import {module_name}{hint}: {exc}; run "
                "from the project root or install the package that defines it"
            ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        module = None
    if module is not None and _same_file(module, file):
        return module
    return _import_file(module_name, file, prefix)


def _same_file(module: ModuleType, file: Path | None) -> bool:
    if file is None:
        return True
    source = getattr(module, "__file__", None)
    return source is not None and Path(source).resolve() == file.resolve()


def _import_file(module_name: str, file: Path, prefix: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"{prefix}agent_file: {file} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    # The module's own imports of itself (dataclasses, pickling) need it
    # registered before it runs.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
