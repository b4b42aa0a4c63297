"""The one email rule, for `POST /api/auth/register`, `mindwire create-user` and sign-in.

An address is accepted when email-validator finds its syntax valid, without asking DNS, and
its domain could exist on the internet (it has a dot and is not reserved), with one exception:
`.test`, the domain reserved for testing (RFC 6761), is accepted so that local set-ups and
tests have addresses that can never reach anyone (`dev@example.test`). The other special-use
domains (`.local`, `.localhost`, `.invalid`, `.onion`, `.arpa`, ...) are refused, as are a
display name (`Ann <ann@example.com>`), a quoted local part and an IP-address domain. The
address is kept in its normal form (email-validator's, lower-cased), so sign-in may use any
case.
"""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, EmailSyntaxError, validate_email
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

EMAIL_RULE = (
    "An email address of valid syntax (email-validator's; no DNS lookup) whose domain has a "
    "dot and is not reserved; `.test` addresses (`dev@example.test`) are accepted for testing, "
    "other special-use domains (`.local`, `.localhost`, `.invalid`, ...) are not. No display "
    "name, quoted local part or IP-address domain. Stored lower-cased, so emails are compared "
    "without regard to case."
)


class InvalidEmail(ValueError):
    """An address the rule refuses; the message says why, in one line."""


def _normal_form(text: str) -> str:
    """Raises email-validator's `EmailNotValidError`, which says what is wrong."""
    parts = validate_email(text.strip(), check_deliverability=False, test_environment=True)
    if "." not in parts.ascii_domain:  # `test_environment` also lets `x@test` through
        raise EmailSyntaxError("The part after the @-sign is not valid. It should have a period.")
    return parts.normalized.lower()


def email_address(text: str) -> str:
    """`text` in its normal form if the rule accepts it; raises `InvalidEmail` otherwise."""
    try:
        return _normal_form(text)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"{text!r} is not a valid email address: {exc}") from None


def lookup_form(text: str) -> str:
    """What to look an email up by: its normal form, or for an address the rule refuses (which
    no user has) the text lower-cased."""
    try:
        return email_address(text)
    except InvalidEmail:
        return text.strip().lower()


def _validated(value: str) -> str:
    try:
        return _normal_form(value)
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "value_error", "value is not a valid email address: {reason}", {"reason": str(exc)}
        ) from None


EmailAddress = Annotated[
    str,
    AfterValidator(_validated),
    Field(description=EMAIL_RULE, json_schema_extra={"format": "email"}),
]
"""A request field holding an email address, validated and normalised by the rule."""
