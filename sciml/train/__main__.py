"""``python -m sciml.train``: the same as ``sciml-train``."""

from sciml.cli.train import main

main()
