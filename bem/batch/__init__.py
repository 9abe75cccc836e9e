"""Batch scoring and training sets on Apache Spark (local mode to EMR)."""

# A user's candidate pairs in one batch job are bounded by one worker's memory (~0.5 kB per pair
# while it is scored), not by Lambda's 6 MB answer: more gives one `too_many_pairs` row.
BATCH_MAX_PAIRS_PER_USER = 2_000_000
