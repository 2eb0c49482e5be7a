"""The log masker's one-scan precheck lets a text through untouched only when none of the
masking patterns could have changed it: compared with the patterns applied unconditionally."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub import observability
from hub.observability import mask_text

# Digits of the three scripts, the separators the patterns allow, letters and the field names
# the named-value pattern looks for: the pieces every masking pattern is made of.
PIECES = st.lists(
    st.sampled_from(
        [*"0123456789", "٠", "٥", "٩", "۰", "۷", "۹", " ", "-", "+", ":", "#", "'", "=", "A", "x"]
        + ["968", "00968", "civil_id", "Phone", "MSISDN", "mobile", "الرقم", "\n"]
    ),
    max_size=40,
).map("".join)


def _mask_without_precheck(text: str) -> str:
    text = observability._PHONE.sub(lambda m: "+968" + observability.mask_digits(m.group(1)), text)
    text = observability._CIVIL_ID.sub(lambda m: observability.mask_digits(m.group(0)), text)
    return observability.mask_near_misses(text)


@settings(max_examples=3000, deadline=None)
@given(PIECES)
def test_precheck_never_lets_through_what_the_patterns_would_mask(text: str) -> None:
    assert mask_text(text) == _mask_without_precheck(text)


def test_precheck_passes_ordinary_values_unchanged_and_still_masks_personal_ones() -> None:
    assert mask_text("message.done") == "message.done"
    assert mask_text("CM1733-0001") == "CM1733-0001"
    assert "9912" not in mask_text("call 9912 3456")
    assert "***" in mask_text("civil_id='X'")
