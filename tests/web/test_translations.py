"""The English and French dictionaries are complete and consistent with the code."""

from __future__ import annotations

import json
import re

from causerie.web.routes import STATIC

I18N = STATIC / "i18n"
JS = STATIC / "js"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
LITERAL_KEY = re.compile(r"""\bt\(\s*'([a-zA-Z0-9_.]+)'""")


def dictionary(code: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N / f"{code}.json").read_text(encoding="utf-8"))
    return data


def test_english_and_french_have_the_same_keys() -> None:
    en, fr = dictionary("en"), dictionary("fr")
    assert sorted(en) == sorted(fr)
    assert len(en) > 100


def test_every_translation_is_filled_and_keeps_its_placeholders() -> None:
    en, fr = dictionary("en"), dictionary("fr")
    for key, text in en.items():
        assert text.strip() and fr[key].strip(), key
        assert set(PLACEHOLDER.findall(text)) >= set(PLACEHOLDER.findall(fr[key])), key


def test_french_is_really_translated() -> None:
    en, fr = dictionary("en"), dictionary("fr")
    same = [k for k in en if en[k] == fr[k]]
    # a few words are spelled alike in both languages (Administration, Message, Conversations…)
    assert len(same) < len(en) // 10, same


def test_every_key_the_code_asks_for_exists() -> None:
    en = dictionary("en")
    used: set[str] = set()
    for path in JS.rglob("*.js"):
        used.update(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    assert used, "no t('…') call found"
    missing = [k for k in sorted(used) if k not in en and f"{k}_one" not in en]
    assert not missing, missing
    for key in used:
        if f"{key}_one" in en:
            assert f"{key}_other" in en, key


# keys the code builds from a variable: `auth.${mode}.title`, `settings.theme.${value}`…
BUILT_KEYS = (
    [
        f"auth.{mode}.{part}"
        for mode in ("setup", "login", "signup")
        for part in ("title", "lead", "submit")
    ]
    + [f"admin.roles.{r}" for r in ("user", "admin")]
    + [f"settings.tabs.{tab}" for tab in ("general", "personalisation", "keys", "account")]
    + [f"settings.theme.{theme}" for theme in ("system", "light", "dark")]
)


def test_keys_built_from_variables_exist() -> None:
    en = dictionary("en")
    assert [k for k in BUILT_KEYS if k not in en] == []
