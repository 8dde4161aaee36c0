"""Encryption at rest: AES-256-GCM, key ids, row binding, rotation."""
import pytest

from core.crypto import Cipher, DecryptionError, associated_data, generate_key, parse_keys


def test_round_trip_and_random_nonce():
    cipher = Cipher([generate_key()])
    aad = associated_data("t", "c", 1, "x")
    first, second = cipher.encrypt("secret", aad), cipher.encrypt("secret", aad)
    assert first != second and "secret" not in first
    assert cipher.decrypt(first, aad) == "secret"


def test_ciphertext_bound_to_its_row():
    cipher = Cipher([generate_key()])
    sealed = cipher.encrypt("token", associated_data("user_connector_credentials", "access_token", 1, "google_calendar"))
    for other in (associated_data("user_connector_credentials", "access_token", 2, "google_calendar"),
                  associated_data("user_connector_credentials", "refresh_token", 1, "google_calendar"),
                  associated_data("user_connector_credentials", "access_token", 1, "gmail")):
        with pytest.raises(DecryptionError):
            cipher.decrypt(sealed, other)


def test_tampering_detected():
    cipher = Cipher([generate_key()])
    aad = b"row"
    sealed = cipher.encrypt("value", aad)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(DecryptionError):
        cipher.decrypt(tampered, aad)


def test_rotation_old_key_still_decrypts_new_encrypts():
    old, new = generate_key(), generate_key()
    before = Cipher([old]).encrypt("v", b"a")
    rotated = Cipher([new, old])
    assert rotated.decrypt(before, b"a") == "v"
    assert rotated.needs_rotation(before)
    assert not rotated.needs_rotation(rotated.encrypt("v", b"a"))
    with pytest.raises(DecryptionError, match="no configured key"):
        Cipher([new]).decrypt(before, b"a")


@pytest.mark.parametrize("raw, problem", [("", "no key"), ("abc", "32 bytes"), ("!!!!", "base64|32 bytes")])
def test_bad_keys_refused(raw, problem):
    with pytest.raises(ValueError, match=problem):
        parse_keys(raw)
