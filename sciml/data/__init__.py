"""Data that users bring: observations read from files, for inverse problems and for predictions."""

from sciml.data.observations import Observations, RowBatches, load_observations, observation_term
from sciml.data.readers import Columns, Table, open_table

__all__ = ["Columns", "Observations", "RowBatches", "Table", "load_observations", "observation_term", "open_table"]
