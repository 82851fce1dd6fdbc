// The sources of a grounded answer: "[n] file — heading" under the answer; a click opens
// the quoted passage in a dialog, as plain text (never HTML: it is the user's document).

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
