"""Monitoring tools: results store, labels, daily metrics, smoothing, anomalies, report."""
