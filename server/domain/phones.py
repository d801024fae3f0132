"""Phone numbers to E.164. Mainland numbers without a country code are +86."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


# "010-12345678转123" (转 = "extension") is how Chinese cards write an extension.
_EXTENSION_WORDS = ("转", "轉")


def normalise_phone(raw: str, default_region: str = "CN") -> str:
    text = raw.strip()
    if not text:
        raise InvalidPhone("The phone number is empty.")
    if len(text) > 40:
        raise InvalidPhone("The phone number is too long.")
    if text.startswith("00"):
        text = "+" + text[2:]
    for word in _EXTENSION_WORDS:
        text = text.replace(word, " ext. ")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"{raw!r} is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_none(raw: str, default_region: str = "CN") -> str | None:
    """The E.164 form, or None when the text is not a valid number (badge fields are best effort)."""
    try:
        return normalise_phone(raw, default_region)
    except InvalidPhone:
        return None


def is_mobile(e164: str) -> bool:
    """Whether an E.164 number is a mobile one (numbers whose kind the plan leaves open count too)."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def digits_for_search(text: str) -> str | None:
    """The digits of a search term that looks like part of a phone number."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if len(digits) >= 4 and len(digits) >= len(text.replace(" ", "")) - 2 else None
