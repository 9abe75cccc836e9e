"""Build tooling for deploy.zip (never shipped): deps, trim, assemble, report, verify."""
