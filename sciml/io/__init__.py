"""Reading and showing runs: plots, exports and renders. Reads run directories, never trainer state."""
