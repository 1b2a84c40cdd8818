"""BehaviorBench: clinical assistants that know when to answer, speak up, or stay silent."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from behaviorbench.agent import Agent, AgentTurn


def __getattr__(name: str):
    """`behaviorbench.Agent` without importing torch when the package is imported."""
    if name in ("Agent", "AgentTurn"):
        from behaviorbench import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'behaviorbench' has no attribute {name!r}")


__all__ = ["Agent", "AgentTurn", "__version__"]
