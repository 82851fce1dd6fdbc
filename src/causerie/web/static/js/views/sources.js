// The sources of a grounded answer: "[n] file — heading" under the answer (the cited ones
// marked), each [n] the answer writes made a button, and a [n] button added after each
// sentence the server matched to a source (meta.citations, by "overlap"); a click opens
// the quoted passage in a dialog, as plain text (never HTML: it is the user's document).

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { openDialog } from '../ui/dialog.js';

export function sourcesBlock(msg) {
  const sources = msg?.meta?.sources;
  if (!Array.isArray(sources) || !sources.length) return null;
  const cited = citedNumbers(msg);
  const items = sources.map((source) => {
    const label = sourceLabel(source);
    const isCited = cited.has(String(source.n));
    const button = h('button', { type: 'button', class: `source${isCited ? ' source--cited' : ''}`, title: label, 'aria-label': t('sources.open', { label }) },
      h('span', { class: 'source__n', text: `[${source.n}]` }),
      h('span', { class: 'source__name', text: label }),
      isCited ? h('span', { class: 'source__cited', text: t('sources.cited') }) : null);
    button.addEventListener('click', () => openPassage(source));
    return h('li', null, button);
  });
  return h('section', { class: 'sources', 'aria-label': t('sources.title') },
    h('h3', { class: 'sources__title' }, icon('copy'), h('span', { text: t('sources.title') })),
    h('ol', { class: 'sources__list' }, items));
}

// The numbers the answer cites: its stored citations, or the [n] it writes.
function citedNumbers(msg) {
  const citations = msg?.meta?.citations;
  if (Array.isArray(citations)) return new Set(citations.map((c) => String(c?.n)));
  return new Set(Array.from(String(msg?.content || '').matchAll(/\[(\d{1,3})\]/g), (m) => m[1]));
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

// Adds a [n] button after each sentence matched to source n by overlap (meta.citations:
// spans are code-point offsets into the markdown source). Each sentence is found in the
// rendered text by its words, in order; the markdown and its sanitised DOM are untouched
// but for the buttons inserted between text nodes (textContent only).
export function addMatchedCitations(content, msg) {
  const sources = msg?.meta?.sources;
  const citations = msg?.meta?.citations;
  if (!Array.isArray(sources) || !Array.isArray(citations) || typeof msg.content !== 'string') return;
  const byNumber = new Map(sources.map((s) => [String(s.n), s]));
  const ends = new Map(); // "start:end" -> source numbers
  for (const c of citations) {
    if (c?.by !== 'overlap' || !byNumber.has(String(c.n)) || !Array.isArray(c.spans)) continue;
    for (const span of c.spans) {
      if (!Array.isArray(span) || span.length !== 2) continue;
      const key = `${span[0]}:${span[1]}`;
      ends.set(key, [...(ends.get(key) || []), String(c.n)]);
    }
  }
  if (!ends.size) return;
  const chars = Array.from(msg.content);
  const texts = [];
  let flat = '';
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest('code, pre, button')) continue;
    texts.push({ node, start: flat.length });
    flat += node.nodeValue;
  }
  const lower = flat.toLowerCase();
  const spans = [...ends.entries()].map(([key, numbers]) => [...key.split(':').map(Number), numbers])
    .sort((a, b) => a[0] - b[0]);
  const inserts = [];
  let cursor = 0;
  for (const [start, end, numbers] of spans) {
    const sentence = chars.slice(start, end).join('');
    let last = -1;
    for (const word of sentence.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []) {
      const at = lower.indexOf(word, cursor);
      if (at === -1 || at - cursor > sentence.length + 40) continue; // not rendered as written
      cursor = at + word.length;
      last = cursor;
    }
    if (last < 0) continue;
    while (last < flat.length && /[.!?。！？"'”’)\]]/.test(flat[last])) last += 1;
    cursor = last;
    inserts.push({ at: last, numbers: [...new Set(numbers)].sort((a, b) => a - b) });
  }
  for (const { at, numbers } of inserts.reverse()) {
    const entry = texts.find((x) => x.start <= at && at <= x.start + x.node.nodeValue.length);
    if (!entry) continue;
    const buttons = numbers.map((n) => {
      const source = byNumber.get(n);
      const label = sourceLabel(source);
      const button = h('button', { type: 'button', class: 'cite cite--matched', text: `[${n}]`,
        title: t('sources.matched', { label }), 'aria-label': t('sources.open', { label }) });
      button.addEventListener('click', () => openPassage(source));
      return button;
    });
    const rest = entry.node.splitText(at - entry.start);
    rest.before(...buttons);
  }
}
