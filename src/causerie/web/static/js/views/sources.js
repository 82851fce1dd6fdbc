// The sources of a grounded answer: "[n] file — heading" under the answer, and each [n]
// the answer writes made a button; a click opens the quoted passage in a dialog, as plain
// text (never HTML: it is the user's document).

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { openDialog } from '../ui/dialog.js';

export function sourcesBlock(msg) {
  const sources = msg?.meta?.sources;
  if (!Array.isArray(sources) || !sources.length) return null;
  const items = sources.map((source) => {
    const label = sourceLabel(source);
    const button = h('button', { type: 'button', class: 'source', title: label, 'aria-label': t('sources.open', { label }) },
      h('span', { class: 'source__n', text: `[${source.n}]` }),
      h('span', { class: 'source__name', text: label }));
    button.addEventListener('click', () => openPassage(source));
    return h('li', null, button);
  });
  return h('section', { class: 'sources', 'aria-label': t('sources.title') },
    h('h3', { class: 'sources__title' }, icon('copy'), h('span', { text: t('sources.title') })),
    h('ol', { class: 'sources__list' }, items));
}

function sourceLabel(source) {
  return source.heading ? `${source.filename} — ${source.heading}` : String(source.filename || '');
}

function openPassage(source) {
  const body = h('div', { class: 'stack' },
    h('p', { class: 'muted', text: t('sources.passageOf', { n: source.n, label: sourceLabel(source) }) }),
    h('blockquote', { class: 'source-passage', text: source.excerpt || '' }));
  openDialog({ title: t('sources.passage'), body, className: 'dialog--wide' });
}

// Turns each "[n]" of the rendered answer that names one of its sources into a button
// (text nodes only, never inside code; the markdown was sanitised before).
export function linkCitations(content, msg) {
  const sources = msg?.meta?.sources;
  if (!Array.isArray(sources) || !sources.length) return;
  const byNumber = new Map(sources.map((s) => [String(s.n), s]));
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (/\[\d{1,3}\]/.test(node.nodeValue) && !node.parentElement.closest('code, pre, a, button')) nodes.push(node);
  }
  for (const node of nodes) {
    const parts = node.nodeValue.split(/(\[\d{1,3}\])/);
    const pieces = parts.map((part) => {
      const source = byNumber.get(part.slice(1, -1));
      if (!/^\[\d{1,3}\]$/.test(part) || !source) return document.createTextNode(part);
      const button = h('button', { type: 'button', class: 'cite', text: part, 'aria-label': t('sources.open', { label: sourceLabel(source) }) });
      button.addEventListener('click', () => openPassage(source));
      return button;
    });
    node.replaceWith(...pieces);
  }
}
