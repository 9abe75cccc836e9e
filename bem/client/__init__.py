"""Call the deployed function from Python: the 2017 boto3 helper, grown up.

    from bem.client import get_model_scores
    items = get_model_scores(payload, function_name="budget-expense-matcher",
                             region="us-west-2", mirror_regions=["us-east-1"])

- sizes every call by the service's own answer estimate (`flattened_data_points.user_answer`,
  the function the service admits users by), its request bytes and the candidate pairs it
  computes, and packs users in order into as few calls as fit (`bem.client.parts`);
- a user whose answer is larger than one call's is sent in several calls, each with all of its
  records and `answer_budgets` naming some of its budgets: features and decisions see the whole
  user in every call, so the split answer is exactly the unsplit one. Only a user beyond one
  call's request (6 MB) or work (400,000 candidate pairs) is cut into pieces of its records
  (features then see the piece; `matched` is decided again across the pieces);
- a user the service refuses (`answer_too_large`, `too_many_pairs`) is sent again, alone or in
  smaller parts, so every pair is answered exactly once;
- invokes the calls in parallel, retries throttling (429), 5xx, connection faults and an answer
  cut short (`Runtime.TruncatedResponse`) with capped exponential backoff and full jitter, and
  fails over to mirror regions in order; a request the function refuses as invalid (400) is
  neither retried nor sent elsewhere;
- halves a call on 413 / `Function.ResponseSizeTooLarge` / timeout / out-of-memory, and on a
  crashed runtime (`Runtime.ExitError`), so one poisonous user cannot fail the others of its
  call (a call of one pair that crashes is retried once);
- asks for the list form or the compact columns form (`response_format="columns"`) and returns
  the same list either way: users, then budgets, then line items, as sent, each error item at
  its pair's place (items of records that form no pair after the user's pairs); a call that
  still fails becomes error items (`score: null`, `error: {code, message, field}`), one per
  pair it held — never an exception.
"""

from __future__ import annotations

from bem.client.invoke import MAX_PAIRS_PER_CALL, ScoreRun, ScoresClient, get_model_scores
from bem.client.parts import (
    MAX_REQUEST_BYTES,
    Limits,
    Part,
    Unit,
    answer_items,
    in_input_order,
    plan_parts,
    split_user,
    units_of,
    users_of,
)

__all__ = [
    "MAX_PAIRS_PER_CALL",
    "MAX_REQUEST_BYTES",
    "Limits",
    "Part",
    "ScoreRun",
    "ScoresClient",
    "Unit",
    "answer_items",
    "get_model_scores",
    "in_input_order",
    "plan_parts",
    "split_user",
    "units_of",
    "users_of",
]
