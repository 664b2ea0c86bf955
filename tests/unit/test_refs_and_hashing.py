"""Pure parts of the ledger: human references and the link hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from ledger import canonical, link_hash, refs
from ledger.chain import _payload


def test_alphabet_has_no_look_alikes() -> None:
    assert len(refs.ALPHABET) == len(set(refs.ALPHABET)) == 32
    assert not set("0O1I") & set(refs.ALPHABET)


@given(st.sampled_from(refs.CANDIDATE_LENGTHS))
def test_random_refs_use_the_alphabet(length: int) -> None:
    ref = refs.random_ref(length)
    assert len(ref) == length
    assert set(ref) <= set(refs.ALPHABET)
    assert refs.normalise(ref.lower()) == ref


@given(st.text(max_size=10))
def test_normalise_never_raises_and_only_returns_valid_refs(text: str) -> None:
    ref = refs.normalise(text)
    assert ref is None or (4 <= len(ref) <= 6 and set(ref) <= set(refs.ALPHABET))


def test_normalise_forgives_case_and_spaces_only() -> None:
    assert refs.normalise(" 7f2k ") == "7F2K"
    assert refs.normalise("7F 2K") == "7F2K"
    assert refs.normalise("7F0K") is None
    assert refs.normalise("7F2") is None
    assert refs.normalise("7F2KXYZ") is None


def _row(**changes: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "id": 17,
        "human_ref": "7F2K",
        "amount": 81,
        "code": "pickup_credit",
        "reference": "collection:9",
        "memo": "PET 4.5kg, ALU 1.2kg — Adé",
        "actor": "collector:7",
        "occurred_at": datetime(2026, 11, 12, 9, 30, 0, 250000, tzinfo=UTC),
        "recorded_at": datetime(2026, 11, 12, 9, 30, 1, tzinfo=UTC),
        "idempotency_key": "collection:9/member",
        "reverses_id": None,
    }
    values.update(changes)
    return SimpleNamespace(**values)


def test_canonical_form_is_stable_and_documented() -> None:
    payload = canonical(3, _row(), "programme:issuance", "member:K4821X")
    assert (
        payload
        == (
            '[3,17,"7F2K","programme:issuance","member:K4821X",81,"pickup_credit","collection:9",'
            '"PET 4.5kg, ALU 1.2kg — Adé","collector:7",1794475800250000,1794475801000000,'
            '"collection:9/member",null]'
        ).encode()
    )
    assert link_hash(bytes(32), payload) == hashlib.sha256(bytes(32) + payload).digest()


def test_every_field_changes_the_hash() -> None:
    base = link_hash(bytes(32), canonical(3, _row(), "a", "b"))
    changes = {
        "id": 18,
        "human_ref": "7F2L",
        "amount": 82,
        "code": "commission",
        "reference": "collection:10",
        "memo": "PET 4.5kg",
        "actor": "collector:8",
        "occurred_at": datetime(2026, 11, 12, 9, 30, 0, 250001, tzinfo=UTC),
        "recorded_at": datetime(2026, 11, 12, 9, 30, 2, tzinfo=UTC),
        "idempotency_key": "other",
        "reverses_id": 3,
    }
    for field, value in changes.items():
        assert link_hash(bytes(32), canonical(3, _row(**{field: value}), "a", "b")) != base, field
    assert link_hash(bytes(32), canonical(4, _row(), "a", "b")) != base
    assert link_hash(bytes(32), canonical(3, _row(), "b", "a")) != base
    assert link_hash(bytes(31) + b"\x01", canonical(3, _row(), "a", "b")) != base


def test_references_move_to_a_longer_length_before_the_short_one_crowds() -> None:
    from ledger.posting import _roomy_lengths

    one = [refs.candidates()]
    assert _roomy_lengths(one, set()) == {4, 5, 6}
    # Nine in ten of the sampled 4-character codes taken: about 100,000 free, plenty for one
    # reference at a time ...
    fours = [ref for ref in one[0] if len(ref) == 4]
    assert 4 in _roomy_lengths(one, set(fours[:2]))
    # ... but a posting of a hundred would clash with another one made at the same moment.
    hundred = [refs.candidates() for _ in range(100)]
    assert _roomy_lengths(hundred, set()) == {4, 5, 6}
    fours = [ref for group in hundred for ref in group if len(ref) == 4]
    assert _roomy_lengths(hundred, set(fours[: len(fours) // 10])) == {5, 6}
    thousand = [refs.candidates() for _ in range(1000)]
    assert _roomy_lengths(thousand, set()) == {6}


_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


@given(
    st.integers(1, 2**62),
    st.integers(1, 2**62),
    st.lists(_texts, min_size=8, max_size=8),
    st.integers(1, 10**12),
    st.tuples(st.integers(-(2**62), 2**62), st.integers(-(2**62), 2**62)),
    st.none() | st.integers(1, 2**62),
)
def test_the_canonical_form_is_compact_json(
    seq: int,
    transfer_id: int,
    texts: list[str],
    amount: int,
    times: tuple[int, int],
    reverses: int | None,
) -> None:
    """Anyone can rebuild it with any JSON library: a list, no spaces, non-ASCII kept as is."""
    human_ref, debit, credit, code, reference, memo, actor, key = texts
    fields = [seq, transfer_id, human_ref, debit, credit, amount, code, reference, memo, actor]
    fields += [*times, key, reverses]
    expected = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    assert _payload(*fields) == expected  # type: ignore[arg-type]
