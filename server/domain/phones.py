"""Phone numbers to E.164. Mainland numbers without a country code are +86."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str, default_region: str = "CN") -> str:
    text = raw.strip()
    if not text:
        raise InvalidPhone("The phone number is empty.")
    if len(text) > 40:
        raise InvalidPhone("The phone number is too long.")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"{raw!r} is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def digits_for_search(text: str) -> str | None:
    """The digits of a search term that looks like part of a phone number."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if len(digits) >= 4 and len(digits) >= len(text.replace(" ", "")) - 2 else None
