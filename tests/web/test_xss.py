"""An XSS corpus in user messages, model output (stored and streamed), conversation titles,
search snippets and persona names: afterwards no script has run, no request has left our
origin, and nothing executable or remote is left in the page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import WATCH_SCRIPT, screenshot
from tests.web.seed import seed_conversation

pytestmark = pytest.mark.slow

EVIL = "https://evil.example"
CORPUS = [
    "<script>window.__xss = 1; alert('script')</script>",
    "<img src=x onerror=\"window.__xss = 2; alert('img')\">",
    '<svg onload="window.__xss = 3"><circle r=5 /></svg>',
    '<iframe src="https://evil.example/frame"></iframe>',
    "<style>@import url(https://evil.example/a.css); body { background: url(https://evil.example/bg.png) }</style>",
    '<link rel=stylesheet href="https://evil.example/b.css">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/y.swf">',
    '<video poster="https://evil.example/p.png"><source src="https://evil.example/v.mp4"></video>',
    '<div style="background-image: url(https://evil.example/div.png)">styled</div>',
    '<form action="https://evil.example/steal"><input name=q autofocus onfocus="window.__xss = 4"><button>go</button></form>',
    '<details open ontoggle="window.__xss = 5"><summary>s</summary></details>',
    '<a href="javascript:window.__xss = 6">raw javascript link</a>',
    '<a href="&#106;avascript:window.__xss = 7">entity link</a>',
    '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss = 8"></style></mglyph></table></mtext></math>',
    "<noscript><p title=\"</noscript><img src=x onerror='window.__xss = 9'>\"></noscript>",
    '"><img src=x onerror="window.__xss = 10"><"',
    "[markdown javascript link](javascript:window.__xss=11)",
    "[reference link][evil]\n\n[evil]: javascript:window.__xss=12",
    "![remote image](https://evil.example/pixel.png)",
    "![relative image](/api/auth/logout)",
    '<img src="https://evil.example/raw.png" alt=raw>',
    "[a normal outside link](https://evil.example/page)",
    "```js\" onmouseover=\"window.__xss=13\nconsole.log('code')\n```",
    '<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnIG9ubG9hZD0nd2luZG93Ll9feHNzPTE0Jy8+">',
    "{{constructor.constructor('window.__xss=15')()}}",
    '<template><img src=x onerror="window.__xss=16"></template>',
]
TITLES = [
    '<img src=x onerror="window.__xss = 20">',
    '"><script>window.__xss = 21</script>',
    "<svg/onload=window.__xss=22>",
]
PERSONAS = [
    '<img src=x onerror="window.__xss = 30">',
    "</li><script>window.__xss = 31</script>",
]


# scrolls the thread to its first message, so that every message is built
BUILD_ALL = """async ([thread, total]) => {
  for (let i = 0; i < 400 && thread.querySelectorAll('.msg').length < total; i += 1) {
    thread.scrollTop = 0;
    await new Promise((r) => requestAnimationFrame(r));
  }
}"""


def assert_inert(page: Any) -> None:
    """Nothing ran, and nothing that could run or fetch is in the page."""
    assert page.evaluate("window.__xss") is None
    found = page.evaluate(
        """() => {
        const bad = [];
        const app = document.getElementById('app');
        const zones = app.querySelectorAll('.msg__content, .msg__bubble, .conv-list, .persona-list, .topbar__title, .empty, dialog');
        for (const zone of zones) {
          for (const el of zone.querySelectorAll('script, iframe, object, embed, style, link, meta, base, form, input, video, audio, source, svg image, template, math')) {
            bad.push('element ' + el.tagName);
          }
          if (!zone.matches('dialog')) {
            for (const el of zone.querySelectorAll('[style]')) bad.push(`${el.tagName} style`);
          }
        }
        for (const el of document.querySelectorAll('*')) {
          for (const attr of el.attributes) {
            const name = attr.name.toLowerCase();
            if (name.startsWith('on')) bad.push(`${el.tagName} ${name}`);
            if (['href', 'src', 'action', 'formaction', 'poster', 'data'].includes(name)) {
              const value = attr.value.trim().toLowerCase();
              if (value.startsWith('javascript:')) bad.push(`${el.tagName} ${name}=${value}`);
            }
          }
        }
        for (const img of document.querySelectorAll('img')) {
          const src = img.getAttribute('src');
          if (src !== null && !src.startsWith('data:image/')) bad.push('img src ' + src);
        }
        return bad;
    }"""
    )
    assert found == []


def test_hostile_text_everywhere_stays_text(open_page: OpenPage, web_app: WebApp) -> None:
    client = web_app.client()
    for name in PERSONAS:
        response = client.send(
            "POST", "/api/personas", json={"name": name, "description": name, "system_prompt": "x"}
        )
        assert response.status_code == 201, response.text
    corpus = "\n\n".join(CORPUS)
    turns = []
    for payload in CORPUS:
        turns += [("user", payload), ("assistant", f"Here it is:\n\n{payload}\n\nzebracorn")]
    turns += [("user", corpus), ("assistant", corpus)]
    conv_id, _ = seed_conversation(web_app.db_url, web_app.admin_id, TITLES[0], turns)
    for title in TITLES[1:]:
        seed_conversation(
            web_app.db_url, web_app.admin_id, title, [("user", title), ("assistant", title)]
        )

    page = open_page(f"/c/{conv_id}")
    expect(page.locator(".msg").first).to_be_visible()
    # everything is shown, as text
    expect(page.locator(".msg__bubble").last).to_contain_text("<script>window.__xss = 1;")
    expect(page.locator(".msg--assistant .msg__content").last).to_contain_text(
        "<img src=x onerror="
    )
    expect(page.locator(".topbar__title")).to_have_text(TITLES[0])
    for title in TITLES:
        expect(page.locator(".conv-item__title", has_text=title)).to_have_count(1)
    for name in PERSONAS:
        expect(page.locator(".persona-item__name", has_text=name)).to_have_count(1)
    # blocked images become a note; links open elsewhere without a referrer
    expect(page.locator(".md-image-blocked").first).to_be_visible()
    outside = page.locator(".msg__content a", has_text="a normal outside link").first
    expect(outside).to_have_attribute("rel", "noopener noreferrer nofollow")
    page.mouse.move(400, 300)
    page.evaluate(BUILD_ALL, [page.locator(".thread").element_handle(), len(turns)])
    expect(page.locator(".thread .msg")).to_have_count(len(turns))
    screenshot(page, "09-xss-corpus")
    assert_inert(page)

    # a search snippet and the delete dialog show the same text safely
    page.get_by_role("searchbox", name="Search chats").fill("zebracorn")
    expect(page.locator(".search-hit").first).to_be_visible()
    expect(page.locator(".search-hit__snippet mark").first).to_have_text(
        re.compile("zebracorn", re.I)
    )
    page.get_by_role("searchbox", name="Search chats").fill("")
    item = page.locator(".conv-item", has_text=TITLES[1])
    item.hover()
    item.get_by_role("button").click()
    page.get_by_role("menuitem", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(TITLES[1])
    assert_inert(page)
    dialog.get_by_role("button", name="Cancel").click()

    # a persona with a hostile name starts a conversation
    page.locator(".persona-item", has_text=PERSONAS[0]).click()
    expect(page.locator(".empty__title")).to_have_text(PERSONAS[0])
    assert_inert(page)

    # the corpus sent for real: the model's streamed answer is rendered through the same path
    page.get_by_role("button", name="Conversation settings").click()
    page.get_by_label("Maximum answer length (tokens)").fill("24")
    page.get_by_role("button", name="Save").click()
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("Repeat exactly: " + CORPUS[1] + " " + CORPUS[20])
    composer.press("Enter")
    expect(page.locator(".msg.is-streaming")).to_have_count(0, timeout=150_000)
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=150_000)
    expect(page.locator(".msg__bubble").last).to_contain_text("onerror=")
    assert_inert(page)


def test_the_watch_sees_what_the_sanitiser_would_have_let_through(
    browser: Any, web_app: WebApp
) -> None:
    """The checks above are not blind: markup injected behind the sanitiser's back is
    refused by the Content-Security-Policy, and the refusal is seen."""
    context = browser.new_context(base_url=web_app.url)
    try:
        context.add_init_script(WATCH_SCRIPT)
        page = context.new_page()
        page.goto("/login")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.evaluate(
            """() => {
            const box = document.createElement('div');
            box.innerHTML = '<img src="https://evil.example/x.png"><img src=x onerror="window.__xss = 1">';
            document.body.append(box);
        }"""
        )
        page.wait_for_function("window.__csp.length >= 2")
        violations = " ".join(page.evaluate("window.__csp"))
        assert "img-src https://evil.example/x.png" in violations
        assert "script-src-attr" in violations
        assert page.evaluate("window.__xss") is None
    finally:
        context.close()
