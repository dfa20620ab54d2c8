"""Command-line entry points. The only layer that reads hydra config objects."""
