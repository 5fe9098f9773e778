"""Search over the step protocol: batched greedy and beam search returning hypotheses with attention maps.

Models implement ``encode(src, src_mask) -> state`` and ``decode_step(tokens, state) -> (log_probs, state,
attn)`` with a batch-first state; decoding never looks at the model's type. In dependency order:
:mod:`state` (map/select/repeat a nested state), :mod:`hypothesis`, :mod:`greedy`, :mod:`beam`.
"""

from attnkit.decoding.beam import beam_search
from attnkit.decoding.greedy import greedy_search
from attnkit.decoding.hypothesis import Hypothesis
from attnkit.decoding.state import map_state, repeat_state, select_beams, select_state

__all__ = ["Hypothesis", "beam_search", "greedy_search", "map_state", "repeat_state", "select_beams", "select_state"]
