"""A template preview tells the author what each channel will do with the
content: SMS encoding and billed segments, push payload size, email parts."""

import pytest

from clarion.domain.channel_limits import (
    PUSH_PAYLOAD_LIMIT,
    EmailReport,
    PushReport,
    SmsReport,
    email_report,
    push_report,
    sms_report,
)

GRIN = "\U0001f600"  # outside the BMP: a surrogate pair in UTF-16

# Written out independently of the module, in 3GPP TS 23.038 order.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"


def test_an_empty_body_is_no_message() -> None:
    assert sms_report("") == SmsReport(encoding="GSM-7", characters=0, segments=0)


def test_a_long_plain_message_is_gsm7_in_two_parts() -> None:
    assert sms_report("a" * 200) == SmsReport("GSM-7", 200, 2)


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3)])
def test_gsm7_fits_160_alone_then_153_per_part(length: int, segments: int) -> None:
    assert sms_report("x" * length).segments == segments


def test_the_whole_basic_alphabet_is_sent_as_gsm7_one_septet_each() -> None:
    assert len(set(GSM7_BASIC)) == 127
    assert sms_report(GSM7_BASIC) == SmsReport("GSM-7", 127, 1)


@pytest.mark.parametrize("char", GSM7_EXTENSION)
def test_extension_characters_stay_gsm7_but_cost_two_septets(char: str) -> None:
    assert sms_report(char) == SmsReport("GSM-7", 2, 1)


def test_euro_signs_fill_a_segment_twice_as_fast() -> None:
    assert sms_report("€" * 80) == SmsReport("GSM-7", 160, 1)
    assert sms_report("€" + "a" * 159) == SmsReport("GSM-7", 161, 2)


def test_an_extension_character_on_a_part_boundary_starts_the_next_part() -> None:
    # 306 septets either way; only the escape pair's position differs.
    assert sms_report("a" * 153 + "€" + "a" * 151) == SmsReport("GSM-7", 306, 2)
    assert sms_report("a" * 152 + "€" + "a" * 152) == SmsReport("GSM-7", 306, 3)


@pytest.mark.parametrize(
    "lookalike",
    [
        "ç",  # only the capital Ç is in the alphabet
        "\u2019",  # a curly apostrophe pasted from a word processor
        "\u2013",  # an en dash
        "`",
        "ê",
        "\t",
        GRIN,
    ],
)
def test_one_character_outside_the_alphabet_switches_the_whole_message_to_ucs2(
    lookalike: str,
) -> None:
    report = sms_report("Your code is 1234" + lookalike)
    assert report.encoding == "UCS-2"


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_fits_70_alone_then_67_per_part(length: int, segments: int) -> None:
    assert sms_report("ж" * length) == SmsReport("UCS-2", length, segments)


def test_an_emoji_counts_two_units() -> None:
    assert sms_report("ж" * 68 + GRIN) == SmsReport("UCS-2", 70, 1)
    assert sms_report("ж" * 69 + GRIN) == SmsReport("UCS-2", 71, 2)


def test_one_emoji_in_a_long_plain_message_makes_it_ucs2() -> None:
    assert sms_report(GRIN + "a" * 199) == SmsReport("UCS-2", 201, 3)


def test_an_emoji_on_a_part_boundary_starts_the_next_part() -> None:
    # Its surrogate pair would occupy units 67 and 68, straddling the first part.
    assert sms_report("a" * 66 + GRIN + "a" * 133) == SmsReport("UCS-2", 201, 4)


def test_push_size_is_the_utf8_length_of_the_compact_payload() -> None:
    # {"notification":{"title":"Hi","body":"é"},"data":{"k":"€"}}
    assert push_report("Hi", "é", {"k": "€"}) == PushReport(bytes=62, limit=4096, fits=True)


def test_push_without_data_sends_no_data_member() -> None:
    # {"notification":{"title":"","body":""}} against the same with ,"data":{}
    assert push_report("", "", None).bytes == 39
    assert push_report("", "", {}).bytes == 49


def test_push_fits_up_to_the_limit_and_not_a_byte_over() -> None:
    assert PUSH_PAYLOAD_LIMIT == 4096
    body = "é" * 2028 + "a"  # 2,029 characters but 4,057 bytes; the envelope adds 39
    assert push_report("", body, None) == PushReport(4096, 4096, fits=True)
    assert push_report("", body + "a", None) == PushReport(4097, 4096, fits=False)


def test_multibyte_text_overflows_long_before_its_character_count_does() -> None:
    body = "日本語" * 700  # 2,100 characters, 6,300 bytes
    report = push_report("通知", body, None)
    assert len(body) < PUSH_PAYLOAD_LIMIT
    assert report.bytes > PUSH_PAYLOAD_LIMIT
    assert not report.fits


def test_data_counts_toward_the_push_limit() -> None:
    assert push_report("Hi", "there", None).fits
    assert not push_report("Hi", "there", {"blob": "x" * 4096}).fits


def test_escaped_characters_count_as_sent() -> None:
    # A quote travels as \" and a newline as \n: two bytes each.
    assert push_report("", '"\n', None).bytes == 39 + 4


def test_an_email_with_every_part() -> None:
    assert email_report("Welcome", "Hello", "<p>Hello</p>") == EmailReport(
        has_subject=True, has_text=True, has_html=True
    )


@pytest.mark.parametrize("subject", ["", "   ", "\n\t"])
def test_a_blank_subject_is_reported_missing(subject: str) -> None:
    assert not email_report(subject, "Hello", None).has_subject


def test_blank_or_absent_bodies_are_reported_missing() -> None:
    assert email_report("Welcome", " \n", None) == EmailReport(
        has_subject=True, has_text=False, has_html=False
    )
    assert not email_report("Welcome", "Hello", "  ").has_html
