"""Markdown of model output (web/static/js/markdown.js) in a real browser: task lists show
as disabled checkboxes, the only form control let through; links go only to http(s),
mailto or an anchor of the page, so footnotes (`[^1]: note`) and relative targets never
become links to pages of ours."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OpenPage, WebApp
from tests.web.harness import screenshot
from tests.web.seed import seed_conversation

pytestmark = pytest.mark.slow

ANSWER = """Plan:

- [ ] write the tests
- [x] read the code
- a plain item

A known fact[^1], a [relative link](notes/plan), [a page](https://example.org/page) and
[mail](mailto:team@example.org).

[^1]: note about the fact
[^2]: second note

<input type="text" value="typed"> stays text."""


def test_task_lists_and_footnotes(open_page: OpenPage, web_app: WebApp) -> None:
    conv, _ = seed_conversation(
        web_app.db_url, web_app.admin_id, "Task list", [("user", "Plan?"), ("assistant", ANSWER)]
    )
    page = open_page(f"/c/{conv}")
    answer = page.locator(".msg--assistant .msg__content").last
    expect(answer).to_contain_text("read the code")

    boxes = answer.locator("input")
    expect(boxes).to_have_count(2)  # the raw <input> stays text
    expect(answer).to_contain_text('<input type="text" value="typed"> stays text.')
    todo, done = boxes.nth(0), boxes.nth(1)
    for box in (todo, done):
        expect(box).to_be_visible()
        expect(box).to_be_disabled()
        attributes = box.evaluate("(el) => [...el.attributes].map((a) => a.name).sort()")
        assert set(attributes) <= {"checked", "disabled", "type"}
        assert box.get_attribute("type") == "checkbox"
    expect(todo).not_to_be_checked()
    expect(done).to_be_checked()
    done.click(force=True)  # a disabled box cannot be unticked
    expect(done).to_be_checked()
    items = answer.locator("li")
    # a task stands on its box, not on a bullet as well
    assert items.nth(0).evaluate("(el) => getComputedStyle(el).listStyleType") == "none"
    assert items.nth(2).evaluate("(el) => getComputedStyle(el).listStyleType") == "disc"

    # links: only the absolute ones; the footnote and the relative target are text
    hrefs = answer.locator("a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    assert hrefs == ["https://example.org/page", "mailto:team@example.org"]
    expect(answer).to_contain_text("a relative link,")
    expect(answer.locator(".md-footnote-ref")).to_have_text("1")
    notes = answer.locator(".md-footnote")
    expect(notes).to_have_count(2)
    expect(notes.nth(0)).to_have_text("1 note about the fact")
    expect(notes.nth(1)).to_have_text("2 second note")
    screenshot(page, "markdown-tasks-footnotes")
