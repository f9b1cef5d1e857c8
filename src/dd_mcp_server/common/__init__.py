"""Pure functions that shape inputs and outputs. Nothing here does I/O."""
