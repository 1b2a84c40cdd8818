"""BehaviorBench: clinical assistants that know when to answer, speak up, or stay silent."""

__version__ = "0.1.0"
