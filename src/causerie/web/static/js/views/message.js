// One message of the thread: a user bubble (plain text) or an assistant answer (rendered,
// sanitised markdown), with its actions: copy, edit or regenerate, the branch switcher
// ‹ 2/3 › when it has siblings, discreet usage figures, and errors shown in place. An
// answer cut at its length limit says so; a prompt too long for the model offers to edit
// it rather than a Retry that could only fail again.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t, formatNumber } from '../i18n.js';
import { renderMarkdown } from '../markdown.js';
import { copyText } from '../clipboard.js';
import { toast } from '../ui/toast.js';
import { buildToolMessage } from './toolblock.js';
import { sourcesBlock, linkCitations, addMatchedCitations } from './sources.js';

// ctx: {streamingId, onEdit(msg, text), onRegenerate(msg), onBranch(msg, step), busy(),
//       onEditPrompt(answer): edit the user message that `answer` answers}
export function buildMessage(msg, ctx) {
  if (msg.role === 'tool') return buildToolMessage(msg);
  const isUser = msg.role === 'user';
  const streaming = msg.id === ctx.streamingId;
  const article = h('article', {
    class: `msg msg--${isUser ? 'user' : 'assistant'}${streaming ? ' is-streaming' : ''}`,
    'aria-label': isUser ? t('message.you') : t('message.assistant'),
    dataset: { id: msg.id, status: msg.status },
  });
  const body = h('div', { class: 'msg__body' });
  if (isUser) {
    body.append(h('div', { class: 'msg__bubble', text: msg.content }));
  } else {
    article.append(h('div', { class: 'msg__avatar', 'aria-hidden': 'true' }, icon('spark')));
    const content = h('div', { class: 'msg__content markdown' });
    fillAnswer(content, msg.content, streaming);
    if (!streaming) {
      linkCitations(content, msg);
      addMatchedCitations(content, msg);
    }
    if (msg.content || streaming || !msg.meta?.tool_calls) body.append(content);
    else article.classList.add('msg--calls'); // only tool calls: their blocks follow
    const sources = sourcesBlock(msg);
    if (sources) body.append(sources);
    if (msg.status === 'interrupted' && !streaming) {
      body.append(h('p', { class: 'msg__note', text: t('message.stopped') }));
    }
    if (msg.status === 'complete' && msg.meta?.finish_reason === 'length' && !streaming) {
      body.append(h('p', { class: 'msg__note', text: t('message.truncated') }));
    }
    if (msg.status === 'error') body.append(errorBox(msg, ctx));
  }
  body.append(footer(msg, ctx, streaming));
  article.append(body);
  return article;
}

export function fillAnswer(content, text, streaming) {
  if (!text && streaming) {
    content.replaceChildren(h('span', { class: 'typing', 'aria-label': t('message.thinking') },
      h('span'), h('span'), h('span')));
    return;
  }
  content.replaceChildren(renderMarkdown(text));
}

// The prompt does not fit in the model's context: the same request can only fail again.
function tooLong(msg) {
  return msg.status === 'error' && msg.meta?.error_code === 'context_length_exceeded';
}

function errorBox(msg, ctx) {
  const reason = msg.error || t('errors.generic');
  if (tooLong(msg)) {
    const edit = h('button', { type: 'button', class: 'button button--small' },
      icon('edit'), h('span', { text: t('message.editPrompt') }));
    edit.addEventListener('click', () => ctx.onEditPrompt(msg));
    return h('div', { class: 'msg__error', role: 'alert' }, icon('alert'),
      h('span', { class: 'msg__error-text' }, reason, ' ', t('message.tooLong')), edit);
  }
  const retry = h('button', { type: 'button', class: 'button button--small' },
    icon('refresh'), h('span', { text: t('message.retry') }));
  retry.addEventListener('click', () => ctx.onRegenerate(msg));
  return h('div', { class: 'msg__error', role: 'alert' }, icon('alert'),
    h('span', { class: 'msg__error-text', text: reason }), retry);
}

function actionButton(name, label, onClick) {
  const button = h('button', { type: 'button', class: 'icon-button icon-button--small', 'aria-label': label, title: label }, icon(name));
  button.addEventListener('click', onClick);
  return button;
}

function footer(msg, ctx, streaming) {
  const bar = h('div', { class: 'msg__actions' });
  if (streaming) return bar;
  if ((msg.sibling_count || 1) > 1) bar.append(branchSwitcher(msg, ctx));
  const copy = actionButton('copy', t('message.copy'), async () => {
    if (await copyText(msg.content)) {
      copy.replaceChildren(icon('check'));
      toast(t('message.copied'));
      setTimeout(() => copy.replaceChildren(icon('copy')), 1500);
    }
  });
  if (msg.content) bar.append(copy); // nothing to copy from an answer that failed at once
  if (msg.role === 'user') {
    bar.append(actionButton('edit', t('message.edit'), () => startEdit(bar.closest('.msg'), msg, ctx)));
  } else {
    if (!tooLong(msg)) bar.append(actionButton('refresh', t('message.regenerate'), () => ctx.onRegenerate(msg)));
    const stats = usageText(msg);
    if (stats) bar.append(h('span', { class: 'msg__stats', title: msg.model || '', text: stats }));
  }
  return bar;
}

function usageText(msg) {
  const tokens = msg.completion_tokens || 0;
  if (!tokens) return '';
  const seconds = (msg.duration_ms || 0) / 1000;
  const parts = [t('message.tokens', { count: tokens })];
  if (seconds > 0) {
    parts.push(t('message.speed', { rate: formatNumber(tokens / seconds, { maximumFractionDigits: 1 }) }));
  }
  return parts.join(' · ');
}

function branchSwitcher(msg, ctx) {
  const position = msg.sibling_position || 1;
  const count = msg.sibling_count || 1;
  const previous = actionButton('left', t('message.previousVersion'), () => ctx.onBranch(msg, -1));
  const next = actionButton('right', t('message.nextVersion'), () => ctx.onBranch(msg, 1));
  previous.disabled = position <= 1;
  next.disabled = position >= count;
  return h('div', { class: 'branch', role: 'group', 'aria-label': t('message.version', { position, count }) },
    previous,
    h('span', { class: 'branch__label', text: `${position}/${count}` }),
    next);
}

export function startEdit(article, msg, ctx) {
  if (!article || ctx.busy()) return;
  const body = article.querySelector('.msg__body');
  const saved = Array.from(body.childNodes);
  const area = h('textarea', { class: 'input msg__editor', 'aria-label': t('message.editLabel'), rows: 3 });
  area.value = msg.content;
  const cancel = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
  const send = h('button', { type: 'submit', class: 'button button--primary', text: t('message.saveAndSend') });
  const form = h('form', { class: 'msg__edit' }, area, h('div', { class: 'msg__edit-actions' }, cancel, send));
  const restore = () => {
    body.replaceChildren(...saved);
    article.classList.remove('is-editing');
  };
  cancel.addEventListener('click', restore);
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      restore();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = area.value.trim();
    if (!text) return;
    restore();
    ctx.onEdit(msg, text);
  });
  article.classList.add('is-editing');
  body.replaceChildren(form);
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}
