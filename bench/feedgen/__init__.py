"""Corporate travel users written independently of `bem synth` (blind to bem/synth/ and to the
feature code): card feeds and travel-tool bookings as real ones look, labelled by the policy of
docs/contract.md. `bench/independent_feeds.py` is the command."""
