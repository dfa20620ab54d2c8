"""Reading and showing runs: field export (VTU / XDMF), renders, plots and the run report.

Everything here works from a problem, a prediction function and run directories, never from trainer
state; the one exception is :class:`sciml.io.outputs.RunOutputs`, the end-of-run callback, which hands the
trainer's network to the same functions that ``sciml-export`` and ``sciml-render`` use on a checkpoint.
"""
