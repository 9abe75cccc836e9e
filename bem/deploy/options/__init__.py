"""The option groups of `bem deploy` (click, so in `cli.py`), also used by `bem invoke`,
`bem serve` and `bem monitor`."""
