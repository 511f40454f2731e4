"""Envelope encryption: a sealed text opens only for its row and field, with the key its row names."""

from __future__ import annotations

import os
import uuid

import pytest

from verbinding_common import sealing


def test_a_sealed_text_opens_for_its_own_row_and_field_only() -> None:
    keyring = sealing.Keyring(keys={"k1": os.urandom(32)}, current="k1")
    row, other = uuid.uuid4(), uuid.uuid4()
    data_key = sealing.new_data_key(keyring, row)
    sealed = sealing.seal_text(data_key.key, "whsec_secret", owner_id=row, field="secret")
    opened_key = sealing.unwrap(keyring, wrapped=data_key.wrapped, kek_id=data_key.kek_id, owner_id=str(row))
    assert sealing.open_text(opened_key, sealed, owner_id=row, field="secret") == "whsec_secret"
    assert sealing.seal_text(data_key.key, None, owner_id=row, field="contact") is None
    for owner_id, field in ((other, "secret"), (row, "previous_secret")):
        with pytest.raises(sealing.SealBroken):
            sealing.open_text(opened_key, sealed, owner_id=owner_id, field=field)
    with pytest.raises(sealing.SealBroken):
        sealing.unwrap(keyring, wrapped=data_key.wrapped, kek_id="k1", owner_id=other)


def test_after_a_rotation_old_rows_open_with_the_key_they_name_and_new_rows_use_the_current_one() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    before = sealing.new_data_key(sealing.Keyring(keys={"k1": old_key}, current="k1"), "r-1")
    rotated = sealing.Keyring(keys={"k1": old_key, "k2": new_key}, current="k2")
    assert sealing.unwrap(rotated, wrapped=before.wrapped, kek_id="k1", owner_id="r-1") == before.key
    assert sealing.new_data_key(rotated, "r-2").kek_id == "k2"
    with pytest.raises(sealing.SealBroken, match="no key with id k1"):
        sealing.unwrap(sealing.Keyring(keys={"k2": new_key}, current="k2"), wrapped=before.wrapped, kek_id="k1",
                       owner_id="r-1")
    with pytest.raises(ValueError, match="32 bytes"):
        sealing.Keyring(keys={"k1": b"short"}, current="k1")
