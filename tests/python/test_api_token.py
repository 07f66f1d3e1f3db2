"""API-token authentication: the header a sender adds, and the receiver's check."""

from __future__ import annotations

import re

import pytest

import protekt

GENERATED_TOKEN = re.compile(r"prt_[A-Za-z0-9_-]{43}")


@pytest.fixture
def api_token() -> protekt.ApiToken:
    """A token with every default: generated, sent as Authorization: Bearer."""
    return protekt.ApiToken()


# ---- what is sent --------------------------------------------------------------------


def test_by_default_a_generated_token_is_sent_as_a_bearer_authorization(
    api_token,
) -> None:
    ((name, value),) = api_token.headers().items()

    assert name == "Authorization"
    assert value == api_token.value
    assert re.fullmatch("Bearer " + GENERATED_TOKEN.pattern, value)
    assert GENERATED_TOKEN.fullmatch(api_token.token)
    assert api_token.scheme == "Bearer"


def test_every_generated_token_is_new() -> None:
    tokens = {protekt.ApiToken().token for _ in range(16)}

    assert len(tokens) == 16


def test_a_given_token_is_sent_as_given() -> None:
    token = protekt.ApiToken(token="prt_shared_with_the_receiver")

    assert token.token == "prt_shared_with_the_receiver"
    assert token.headers() == {"Authorization": f"Bearer {token.token}"}


def test_a_custom_header_carries_the_bare_token() -> None:
    token = protekt.ApiToken(token="prt_for_x_api_key", header="X-Api-Key")

    assert token.header == "X-Api-Key"
    assert token.scheme is None
    assert token.headers() == {"X-Api-Key": token.token}


def test_a_custom_scheme_prefixes_the_token() -> None:
    token = protekt.ApiToken(token="prt_tok", scheme="Token")

    assert token.value == f"Token {token.token}"
    assert token.headers() == {"Authorization": token.value}


def test_a_custom_header_may_have_a_scheme_too() -> None:
    token = protekt.ApiToken(token="prt_tok", header="X-Auth", scheme="Key")

    assert token.headers() == {"X-Auth": f"Key {token.token}"}


def test_the_authorization_header_gets_bearer_in_any_case() -> None:
    token = protekt.ApiToken(token="prt_tok", header="authorization")

    assert token.headers() == {"authorization": f"Bearer {token.token}"}


def test_tokens_with_the_same_header_and_value_are_equal() -> None:
    first = protekt.ApiToken(token="prt_same", header="X-Key")
    second = protekt.ApiToken(token="prt_same", header="x-key")
    other = protekt.ApiToken(token="prt_other", header="X-Key")

    assert first == second
    assert hash(first) == hash(second)
    assert first != other


# ---- what is checked -----------------------------------------------------------------


def test_the_receiver_accepts_the_headers_the_sender_adds(api_token) -> None:
    assert api_token.verify(api_token.headers()) is None


def test_the_receiver_accepts_them_among_other_headers(api_token) -> None:
    received = {"Content-Type": "application/json", **api_token.headers()}

    assert api_token.verify(received) is None


def test_header_names_are_matched_in_every_kind_of_mapping(
    api_token, header_mapping
) -> None:
    received = {"authorization": api_token.value}

    assert api_token.verify(header_mapping(received)) is None


def test_a_custom_header_is_found_whatever_its_case() -> None:
    token = protekt.ApiToken(header="X-Api-Key")

    assert token.verify({"X-API-KEY": token.token}) is None
    assert token.verify({"x-api-key": token.token}) is None


def _another_token(token: protekt.ApiToken) -> str:
    return f"Bearer {protekt.ApiToken().token}"


def _bare_token(token: protekt.ApiToken) -> str:
    return token.token


def _lower_case_scheme(token: protekt.ApiToken) -> str:
    return "bearer " + token.token


def _one_character_short(token: protekt.ApiToken) -> str:
    return token.value[:-1]


def _one_character_more(token: protekt.ApiToken) -> str:
    return token.value + "x"


def _empty(token: protekt.ApiToken) -> str:
    return ""


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param(_another_token, id="another-token"),
        pytest.param(_bare_token, id="without-scheme"),
        pytest.param(_lower_case_scheme, id="scheme-in-lower-case"),
        pytest.param(_one_character_short, id="one-character-short"),
        pytest.param(_one_character_more, id="one-character-more"),
        pytest.param(_empty, id="empty"),
    ],
)
def test_any_other_value_is_refused(api_token, presented) -> None:
    received = {"Authorization": presented(api_token)}

    with pytest.raises(protekt.InvalidTokenError, match="Authorization") as excinfo:
        api_token.verify(received)
    assert isinstance(excinfo.value, protekt.WebhookVerificationError)


def test_a_missing_header_is_named() -> None:
    token = protekt.ApiToken(header="X-Api-Key")

    with pytest.raises(protekt.MissingHeaderError, match="X-Api-Key"):
        token.verify({"Authorization": f"Bearer {token.token}"})


# ---- what is refused at construction -------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="empty"),
        pytest.param("X Api Key", id="space"),
        pytest.param("X-Api-Key:", id="colon"),
        pytest.param("X-Api\nKey", id="newline"),
        pytest.param("X-Äpi-Key", id="non-ascii"),
    ],
)
def test_a_header_name_that_http_forbids_is_refused(header) -> None:
    with pytest.raises(protekt.ValidationError, match="header name") as excinfo:
        protekt.ApiToken(header=header)
    assert excinfo.value.field == "header"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("prt_abc\r\nX-Injected: 1", id="header-injection"),
        pytest.param("prt_abc\x00", id="nul"),
    ],
)
def test_a_token_that_cannot_be_sent_is_refused(token) -> None:
    with pytest.raises(protekt.ValidationError) as excinfo:
        protekt.ApiToken(token=token)
    assert excinfo.value.field == "token"


def test_an_empty_scheme_sends_the_bare_token() -> None:
    token = protekt.ApiToken(token="prt_abc", scheme="")

    assert token.headers() == {"Authorization": "prt_abc"}


@pytest.mark.parametrize("scheme", [pytest.param("Two Words", id="two-words")])
def test_a_scheme_that_is_not_one_word_is_refused(scheme) -> None:
    with pytest.raises(protekt.ValidationError, match="one word") as excinfo:
        protekt.ApiToken(token="prt_tok", scheme=scheme)
    assert excinfo.value.field == "scheme"


# ---- repr ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="generated"),
        pytest.param("prt_a-long-token-shared-with-the-receiver", id="long-given"),
        pytest.param(
            "s3cr3t",
            id="short-given",
        ),
    ],
)
def test_repr_hides_the_token(token) -> None:
    api_token = protekt.ApiToken(token=token, header="X-Api-Key")

    assert api_token.token not in repr(api_token)
    assert api_token.value not in repr(api_token)
    assert "X-Api-Key" in repr(api_token)
