// Model output -> safe DOM. marked renders GitHub-flavoured markdown; raw HTML in the text
// is shown as text, never interpreted; highlight.js colours labelled code blocks; then
// DOMPurify sanitises the result. Images load only from `data:` URLs and links open in a
// new tab without a referrer, so model output can never make the page fetch elsewhere.

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
    image({ href, text }) {
      if (DATA_IMAGE.test(String(href || ''))) {
        return `<img src="${escapeHtml(href)}" alt="${escapeHtml(text || '')}">`;
      }
      return `<span class="md-image-blocked">[${escapeHtml(text || 'image')}]</span>`;
    },
  },
});

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: [
    'style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame',
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
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    const href = node.getAttribute('href') || '';
    if (!href.startsWith('#')) {
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
