"""Language identification (py3langid's packaged model): non-English flagged, short English never."""

from __future__ import annotations

import pytest

from nlp.analysis.language import LanguageIdentifier


@pytest.fixture(scope="module")
def identify() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Das Kleid ist wunderschön, aber leider viel zu klein. Ich schicke es zurück.", "de"),
        ("La robe est jolie mais la taille est beaucoup trop petite, je la renvoie.", "fr"),
        ("El vestido es precioso y la tela es muy suave, pero la talla es pequeña.", "es"),
    ],
)
def test_non_english_reviews_are_flagged(identify: LanguageIdentifier, text: str, language: str) -> None:
    guess = identify(text)
    assert (guess.language, guess.unsupported) == (language, True)
    assert guess.confidence >= identify.min_confidence


@pytest.mark.parametrize(
    "text",
    # short English titles the identifier guesses wrongly (Somali, Kabyle, Nigerian Pidgin, ...), and empties
    [
        "Too sheer",
        "Yes yes yes!",
        "Nice fit for cool weather",
        "Runs small.",
        "Cute top.",
        "ok",
        "n/a",
        "",
        "!!",
    ],
)
def test_short_english_is_not_flagged(identify: LanguageIdentifier, text: str) -> None:
    guess = identify(text)
    assert (guess.language, guess.unsupported) == ("en", False)


def test_a_confident_guess_on_a_very_short_text_is_reported_but_not_flagged(
    identify: LanguageIdentifier,
) -> None:
    guess = identify("Sehr schön!")  # 9 letters: too few to stop reading it
    assert (guess.language, guess.unsupported) == ("de", False)
    strict = LanguageIdentifier(min_letters=5)
    assert strict("Sehr schön!").unsupported


def test_english_review_is_english(identify: LanguageIdentifier) -> None:
    guess = identify("The fabric is so soft but it runs small. Not worth the price.")
    assert (guess.language, guess.unsupported) == ("en", False)
    assert guess.confidence >= 0.9


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("衣服很好看，面料很舒服。", "zh"),  # noqa: RUF001 - a Chinese comma
        ("非常好", "zh"),
        ("Очень красивое платье", "ru"),
        ("옷이 예뻐요", "ko"),
    ],
)
def test_a_text_without_a_latin_letter_is_flagged_however_short(
    identify: LanguageIdentifier, text: str, language: str
) -> None:
    """Such texts were taken as English below the confidence bar or the letter count (QA finding)."""
    guess = identify(text)
    assert (guess.language, guess.unsupported) == (language, True)


@pytest.mark.parametrize("text", ["ok 👍", "Nice 衣服, fits well", "Café au lait colour, lovely"])
def test_a_text_with_latin_letters_keeps_the_confidence_rule(identify: LanguageIdentifier, text: str) -> None:
    assert identify(text).unsupported is False
