"""`python -m behaviorbench.cli`: the same entry point, for launchers such as torchrun."""

from behaviorbench.cli import main

main()
