"""The options every `bem monitor` command module shares (click, so in `cli.py`)."""
