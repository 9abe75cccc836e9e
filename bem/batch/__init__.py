"""Batch scoring and training sets on Apache Spark (local mode to EMR)."""
