"""The session middleware's signer: remembering a checked cookie must never weaken the check."""

import time

import itsdangerous
import pytest

from shared.sessions import RememberingSigner

SECRET = "s" * 40
DAY = 24 * 60 * 60


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def test_a_genuine_cookie_is_accepted_again_and_again(clock):
    signer = RememberingSigner(SECRET)
    cookie = signer.sign(b"payload")
    assert signer.unsign(cookie, max_age=DAY) == b"payload"
    assert signer.unsign(cookie.decode(), max_age=DAY) == b"payload"


def test_a_remembered_cookie_still_expires(clock):
    signer = RememberingSigner(SECRET)
    cookie = signer.sign(b"payload")
    signer.unsign(cookie, max_age=DAY)
    clock[0] += DAY + 1
    with pytest.raises(itsdangerous.SignatureExpired):
        signer.unsign(cookie, max_age=DAY)


def test_an_altered_cookie_is_refused_after_the_genuine_one_was_remembered(clock):
    signer = RememberingSigner(SECRET)
    cookie = signer.sign(b"payload")
    signer.unsign(cookie, max_age=DAY)
    with pytest.raises(itsdangerous.BadSignature):
        signer.unsign(cookie.replace(b"payload", b"PAYLOAD"), max_age=DAY)


def test_a_cookie_signed_with_another_key_is_refused(clock):
    forged = itsdangerous.TimestampSigner("another key " * 4).sign(b"payload")
    with pytest.raises(itsdangerous.BadSignature):
        RememberingSigner(SECRET).unsign(forged, max_age=DAY)


def test_it_reads_what_starlette_writes_and_the_reverse(clock):
    ours, theirs = RememberingSigner(SECRET), itsdangerous.TimestampSigner(SECRET)
    assert ours.unsign(theirs.sign(b"x"), max_age=DAY) == b"x"
    assert theirs.unsign(ours.sign(b"y"), max_age=DAY) == b"y"
    value, signed_at = ours.unsign(ours.sign(b"z"), max_age=DAY, return_timestamp=True)
    assert value == b"z" and signed_at.timestamp() == int(clock[0])


def test_it_remembers_a_bounded_number_of_cookies(clock):
    signer = RememberingSigner(SECRET)
    for i in range(RememberingSigner.size + 5):
        signer.unsign(signer.sign(str(i).encode()), max_age=DAY)
    assert len(signer._checked) == RememberingSigner.size
