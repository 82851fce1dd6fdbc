// Model output -> safe DOM. marked renders GitHub-flavoured markdown; raw HTML in the text
// is shown as text, never interpreted; highlight.js colours labelled code blocks; then
// DOMPurify sanitises the result. Images load only from `data:` URLs and links open in a
// new tab without a referrer, so model output can never make the page fetch elsewhere.
// Links are kept only to http(s), mailto and in-page anchors (a relative one would open a
// page of ours); task lists show disabled checkboxes, the only form control let through.
// Footnotes (`[^1]` and `[^1]: note`) show as superscripts and notes, not as links.

import { Marked } from '/static/vendor/marked.esm.js';
import DOMPurify from '/static/vendor/purify.es.js';
import hljs from '/static/vendor/highlight.min.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { copyText } from './clipboard.js';
import { t } from './i18n.js';

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const DATA_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp);base64,[a-z0-9+/=\s]+$/i;
const MAX_HIGHLIGHT = 100_000; // characters; longer blocks stay plain to keep typing smooth
const SAFE_LINK = /^(?:(?:https?|mailto):|#)/i;

// `[^label]: text` (one line) and `[^label]`: marked would take the first for a link
// reference definition, making every `[^label]` a link to `text`.
const FOOTNOTE_NOTE = /^ {0,3}\[\^([^\]\s]+)\]:[ \t]*([^\n]*)(?:\n+|$)/;
const FOOTNOTE_REF = /^\[\^([^\]\s]+)\]/;
const footnotes = [
  {
    name: 'footnote',
    level: 'block',
    start: (src) => src.match(/^ {0,3}\[\^[^\]\s]+\]:/m)?.index,
    tokenizer(src) {
      const match = FOOTNOTE_NOTE.exec(src);
      if (!match) return undefined;
      return { type: 'footnote', raw: match[0], label: match[1], tokens: this.lexer.inlineTokens(match[2]) };
    },
    renderer(token) {
      const label = `<sup class="md-footnote__label">${escapeHtml(token.label)}</sup>`;
      return `<p class="md-footnote">${label} ${this.parser.parseInline(token.tokens)}</p>\n`;
    },
  },
  {
    name: 'footnoteRef',
    level: 'inline',
    start: (src) => src.match(/\[\^[^\]\s]+\]/)?.index,
    tokenizer(src) {
      const match = FOOTNOTE_REF.exec(src);
      return match ? { type: 'footnoteRef', raw: match[0], label: match[1] } : undefined;
    },
    renderer: (token) => `<sup class="md-footnote-ref">${escapeHtml(token.label)}</sup>`,
  },
];

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text, block }) {
      return block ? `<p>${escapeHtml(text.trim())}</p>\n` : escapeHtml(text);
    },
    code({ text, lang }) {
      const language = String(lang || '').trim().split(/\s+/)[0].toLowerCase();
      const known = language && text.length < MAX_HIGHLIGHT && hljs.getLanguage(language);
      const body = known
        ? hljs.highlight(text, { language, ignoreIllegals: true }).value
        : escapeHtml(text);
      const label = language ? ` data-lang="${escapeHtml(language)}"` : '';
      return `<pre${label}><code class="hljs">${body}</code></pre>\n`;
    },
    link({ href, tokens }) {
      if (SAFE_LINK.test(String(href || '').trim())) return false; // marked's own rendering
      return this.parser.parseInline(tokens); // a relative or odd target: its text only
    },
    image({ href, text }) {
      if (DATA_IMAGE.test(String(href || ''))) {
        return `<img src="${escapeHtml(href)}" alt="${escapeHtml(text || '')}">`;
      }
      return `<span class="md-image-blocked">[${escapeHtml(text || 'image')}]</span>`;
    },
  },
  extensions: footnotes,
});

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: [
    'style', 'form', 'button', 'textarea', 'select', 'option', 'iframe', 'frame',
    'frameset', 'object', 'embed', 'video', 'audio', 'source', 'track', 'picture', 'link',
    'meta', 'base', 'svg', 'math', 'template', 'dialog',
  ],
  FORBID_ATTR: [
    'style', 'srcset', 'poster', 'background', 'action', 'formaction', 'ping', 'id', 'name',
    'xlink:href', 'autofocus', 'tabindex',
  ],
  ALLOW_DATA_ATTR: false,
  // http(s) and mailto links, or values with no scheme at all (javascript:, data: and the
  // rest are refused; data: images are let through by DOMPurify for <img> only)
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
};

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'IMG' && !DATA_IMAGE.test(node.getAttribute('src') || '')) {
    node.removeAttribute('src');
  }
  if (node.tagName === 'INPUT') {
    // a task list's box: shown, never usable, whatever the markup asked for
    const checked = node.hasAttribute('checked');
    for (const { name } of [...node.attributes]) node.removeAttribute(name);
    node.setAttribute('type', 'checkbox');
    node.setAttribute('disabled', '');
    if (checked) node.setAttribute('checked', '');
  }
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    const href = (node.getAttribute('href') || '').trim();
    if (!SAFE_LINK.test(href)) node.removeAttribute('href');
    else if (!href.startsWith('#')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  }
  if (node.tagName === 'PRE' && node.hasAttribute('data-lang')) {
    node.dataset.lang = node.getAttribute('data-lang').replace(/[^a-z0-9+#._-]/gi, '');
  }
});

const PURIFY_BLOCK = { ...PURIFY, ADD_ATTR: ['data-lang', 'target'], RETURN_DOM_FRAGMENT: true };

// Markdown text -> a sanitised DocumentFragment with copy buttons on code blocks.
export function renderMarkdown(text) {
  const html = marked.parse(String(text || ''), { async: false });
  const fragment = DOMPurify.sanitize(html, PURIFY_BLOCK);
  for (const pre of fragment.querySelectorAll('pre')) decorateCode(pre);
  for (const table of fragment.querySelectorAll('table')) {
    table.replaceWith(h('div', { class: 'md-table' }, table.cloneNode(true)));
  }
  return fragment;
}

function decorateCode(pre) {
  const code = pre.querySelector('code');
  const language = pre.dataset.lang || '';
  const copy = h(
    'button',
    { type: 'button', class: 'codeblock__copy', 'aria-label': t('message.copyCode') },
    icon('copy'),
    h('span', { text: t('message.copy') }),
  );
  copy.addEventListener('click', async () => {
    const ok = await copyText(code ? code.textContent : pre.textContent);
    if (!ok) return;
    copy.classList.add('is-done');
    copy.lastChild.textContent = t('message.copied');
    setTimeout(() => {
      copy.classList.remove('is-done');
      copy.lastChild.textContent = t('message.copy');
    }, 1500);
  });
  const header = h('div', { class: 'codeblock__bar' }, h('span', { text: language || 'text' }), copy);
  const wrapper = h('div', { class: 'codeblock' });
  pre.replaceWith(wrapper);
  wrapper.append(header, pre);
}

// Search snippets: the server escapes the text and wraps matches in <mark>; nothing else
// survives.
export function renderSnippet(html) {
  return DOMPurify.sanitize(String(html || ''), {
    ALLOWED_TAGS: ['mark'],
    ALLOWED_ATTR: [],
    RETURN_DOM_FRAGMENT: true,
  });
}
