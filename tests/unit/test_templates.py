"""Template locales and rendering, without a database."""

import pytest

from clarion.domain.content import EmailContent, SmsContent
from clarion.domain.enums import Channel
from clarion.domain.templates import TemplateVersion, normal_locale, pick_locale
from clarion.services.rendering import Renderer, RenderError, problems


def version(
    channel: Channel, locales: dict[str, dict[str, object]], **schema: object
) -> TemplateVersion:
    return TemplateVersion(
        name="t",
        version=1,
        channel=channel,
        default_locale="en",
        variables={"type": "object", "properties": schema},
        locales=locales,  # type: ignore[arg-type]
    )


def test_locales_fall_back_region_then_language_then_the_default() -> None:
    have = ["en", "fr", "fr-BE", "pt-BR", "zh-Hant"]
    assert pick_locale(have, "fr-be", "en") == "fr-BE"
    assert pick_locale(have, "fr-CA", "en") == "fr"
    assert pick_locale(have, "pt-PT", "en") == "en"  # a sibling region is not a fallback
    assert pick_locale(have, "zh-Hant-TW", "en") == "zh-Hant"
    assert pick_locale(have, "de", "en") == "en"
    assert pick_locale(have, None, "en") == "en"
    assert pick_locale(have, "not a tag!", "en") == "en"


def test_locale_tags_take_their_usual_case() -> None:
    assert normal_locale("FR-be") == "fr-BE"
    assert normal_locale("zh-hant-tw") == "zh-Hant-TW"
    assert normal_locale("es-419") == "es-419"
    assert normal_locale("en_US") is None
    assert normal_locale("x-private") is None


def test_text_is_not_escaped_and_html_is() -> None:
    email = version(
        Channel.EMAIL,
        {"en": {"subject": "{{ who }}", "body": "{{ who }}", "html": "<i>{{ who }}</i>"}},
        who={"type": "string"},
    )
    rendered = Renderer().render(email, {"who": "A & <B>"}, None, "to@example.com")
    assert rendered == EmailContent(
        subject="A & <B>", body="A & <B>", html="<i>A &amp; &lt;B&gt;</i>", to="to@example.com"
    )


def test_a_variable_left_out_is_an_error_not_a_blank() -> None:
    sms = version(Channel.SMS, {"en": {"body": "Code: {{ code }}"}}, code={"type": "string"})
    with pytest.raises(RenderError, match="code"):
        Renderer().render(sms, {}, None)
    assert Renderer().render(sms, {"code": "42"}, None) == SmsContent(body="Code: 42")


def test_jinja_globals_work_and_a_variable_of_the_same_name_wins() -> None:
    sms = version(
        Channel.SMS,
        {"en": {"body": "{% for i in range(n) %}{{ i }}{% endfor %} {{ lipsum is defined }}"}},
        n={"type": "integer"},
    )
    renderer = Renderer()
    assert renderer.render(sms, {"n": 3}, None) == SmsContent(body="012 True")
    shadow = version(Channel.SMS, {"en": {"body": "{{ range }}"}}, range={"type": "string"})
    assert Renderer().render(shadow, {"range": "mine"}, None) == SmsContent(body="mine")


def test_rendered_text_longer_than_the_channel_takes_is_an_error() -> None:
    sms = version(Channel.SMS, {"en": {"body": "{{ t }}"}}, t={"type": "string"})
    with pytest.raises(RenderError, match="1600"):
        Renderer().render(sms, {"t": "x" * 1601}, None)


def test_the_sandbox_refuses_reaching_into_python() -> None:
    sms = version(Channel.SMS, {"en": {"body": "{{ ''.__class__.__mro__ }}"}})
    with pytest.raises(RenderError):
        Renderer().render(sms, {}, None)


def test_save_checks_fields_per_channel() -> None:
    found = problems(version(Channel.SMS, {"en": {"body": "hi", "subject": "no"}}))
    assert found == [("locales.en.subject", "SMS templates have no subject")]
    found = problems(version(Channel.PUSH, {"en": {"body": "hi"}}))
    assert found == [("locales.en.title", "missing")]
    assert problems(version(Channel.PUSH, {"en": {"title": "t", "body": "b"}})) == []
