"""`bem evaluate --learning-curve`: the curve's report (click, so in `cli.py`)."""
