"""The learning loop: train from what production scored and reviewers labelled, compare a
challenger with the champion, and learn with few labels (a prior of synthetic users)."""
