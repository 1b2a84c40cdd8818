"""The one exception users see: the CLI prints its message as a single line and exits non-zero."""


class BehaviorBenchError(Exception):
    """Bad input or a refused operation; the message names the file, line or field at fault."""
