"""Dataset commands: build, validate, export, card, show."""
