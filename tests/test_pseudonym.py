import hashlib

from libcrm.pseudonym import user_key


def test_same_patron_same_key_under_one_secret():
    assert user_key(b"k" * 32, "P001") == user_key(b"k" * 32, "P001")


def test_key_depends_on_secret_and_is_not_a_plain_hash():
    first = user_key(b"a" * 32, "P001")
    assert first != user_key(b"b" * 32, "P001")
    assert first != hashlib.sha256(b"P001").hexdigest()[: len(first)]
    assert "P001" not in first and len(first) == 32
