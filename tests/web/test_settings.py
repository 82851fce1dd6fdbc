"""Settings: French and English follow the browser until the user picks one; light, dark or
the system's theme; custom instructions; API keys shown once and revoked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import PASSWORD, screenshot
from tests.web.seed import seed_conversation

pytestmark = pytest.mark.slow

SAMPLE = """Here is a **function**, a list and a table:

```python
def add(a: int, b: int) -> int:
    \"\"\"Adds two numbers.\"\"\"
    return a + b
```

1. first
2. second
   - nested

| Language | Typing |
|---|:---:|
| Python | dynamic |
| Rust | static |

> A quote, and `inline code`."""


def register(web_app: WebApp, email: str) -> None:
    client = web_app.client()
    response = client.send(
        "POST",
        "/api/admin/users",
        json={"email": email, "password": PASSWORD, "name": email.split("@")[0].title()},
    )
    assert response.status_code == 201, response.text


def test_language_follows_the_browser_then_the_choice(open_page: OpenPage, web_app: WebApp) -> None:
    register(web_app, "claire@example.com")
    page = open_page("/", email="claire@example.com", locale="fr-FR")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("button", name="Nouvelle discussion").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Message")).to_have_attribute(
        "placeholder", "Écrire à Causerie"
    )

    page.locator(".account").click()
    page.get_by_role("menuitem", name="Paramètres").click()
    dialog = page.get_by_role("dialog", name="Paramètres")
    dialog.get_by_label("Langue").select_option("en")
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog.get_by_role("tab", name="General")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("button", name="New chat").first).to_be_visible()
    page.reload()  # the choice is the account's, not the browser's
    expect(page.get_by_role("button", name="New chat").first).to_be_visible()


def test_french_dark_theme_instructions_and_keys(open_page: OpenPage, web_app: WebApp) -> None:
    register(web_app, "denis@example.com")
    client = web_app.client("denis@example.com")
    seed_conversation(
        web_app.db_url,
        client.user["id"],
        "Markdown tour",
        [("user", "Show me markdown"), ("assistant", SAMPLE)],
    )
    page = open_page("/", email="denis@example.com", color_scheme="light")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_app.url)
    page.locator(".conv-item", has_text="Markdown tour").get_by_role("link").click()

    # rendered markdown: highlighted code with a copy button, lists, a table, a quote
    answer = page.locator(".msg--assistant .msg__content").last
    expect(answer.locator(".codeblock__bar")).to_contain_text("python")
    expect(answer.locator("code .hljs-keyword").first).to_have_text("def")
    expect(answer.locator("ol > li")).to_have_count(2)
    expect(answer.locator("table th").first).to_have_text("Language")
    expect(answer.locator("blockquote code")).to_have_text("inline code")
    answer.get_by_role("button", name="Copy code").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("def add(a: int, b: int)")
    screenshot(page, "15-markdown-light")

    # French
    page.locator(".account").click()
    page.get_by_role("menuitem", name="Settings").click()
    page.get_by_role("dialog").get_by_label("Language").select_option("fr")
    dialog = page.get_by_role("dialog", name="Paramètres")
    expect(dialog.get_by_role("tab", name="Général")).to_have_attribute("aria-selected", "true")
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    # dark
    dialog.get_by_text("Sombre").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    screenshot(page, "16-settings-dark-fr")

    # custom instructions
    dialog.get_by_role("tab", name="Personnalisation").click()
    dialog.get_by_label("Instructions personnalisées").fill("Answer in haiku.")
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("Enregistré")

    # API keys: the secret is shown once; revoking asks first
    dialog.get_by_role("tab", name="Clés d’API").click()
    dialog.get_by_label("Nom de la clé").fill("script")
    dialog.get_by_role("button", name="Créer une clé").click()
    secret = dialog.locator(".key-reveal__secret")
    expect(secret).to_have_text(re.compile(r"\S{20,}"))
    key = secret.inner_text()
    assert (
        client.http.get("/api/keys", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    expect(dialog.locator(".key-row", has_text="script")).to_be_visible()
    screenshot(page, "17-api-keys-dark-fr")
    dialog.get_by_role("button", name="Révoquer script").click()
    page.get_by_role("dialog", name="Révoquer cette clé ?").get_by_role(
        "button", name="Révoquer"
    ).click()
    expect(dialog.locator(".key-row", has_text="script")).to_have_count(0)
    assert (
        client.http.get("/api/keys", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    )
    dialog.get_by_role("button", name="Fermer").click()

    # all of it is the account's: a reload keeps French, dark and the instructions
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_role("button", name="Nouvelle discussion").first).to_be_visible()
    expect(page.locator(".msg--assistant").last).to_contain_text("Language")
    screenshot(page, "18-chat-dark-fr")
    settings = client.get("/api/me/settings").json()
    assert settings["custom_instructions"] == "Answer in haiku."
    assert settings["preferences"] == {"theme": "dark", "language": "fr"}
    assert page.evaluate("Object.keys(localStorage)") == ["causerie.theme"]


def test_every_settings_tab_is_in_sight_on_a_phone(open_page: OpenPage) -> None:
    page = open_page("/", viewport=(390, 844))
    page.get_by_role("button", name="Open sidebar").click()
    page.locator(".account").click()
    page.get_by_role("menuitem", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    tabs = dialog.get_by_role("tab")
    expect(tabs).to_have_count(4)
    expect(dialog.get_by_role("tab", name="Account")).to_be_visible()
    strip = dialog.get_by_role("tablist").bounding_box()
    assert strip is not None and strip["x"] >= 0 and strip["x"] + strip["width"] <= 390
    for tab in tabs.all():
        box = tab.bounding_box()
        assert box is not None
        # whole: inside the strip's visible box, its label not cut
        assert box["x"] >= strip["x"] - 0.5, tab.inner_text()
        assert box["x"] + box["width"] <= strip["x"] + strip["width"] + 0.5, tab.inner_text()
        assert tab.evaluate("(el) => el.scrollWidth <= el.clientWidth"), tab.inner_text()
    screenshot(page, "settings-tabs-phone")
