"""`bem monitor metrics`, `errors`, `report` and `watch`: reading the store (click, so in
`cli.py`)."""
