// The message list. Long conversations stay fast: only the newest CHUNK messages are built
// when a conversation opens, and older ones are built a chunk at a time as the reader
// scrolls up (the scroll position is kept). Messages are keyed by id, so a new branch or a
// finished answer rebuilds only what changed.

import { h, perFrame } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { buildMessage, fillAnswer, startEdit } from './message.js';

const CHUNK = 24;
const NEAR_TOP = 1200; // px: build older messages before the reader reaches them
const NEAR_BOTTOM = 80; // px: "at the bottom" for following a streaming answer

function signature(m) {
  return [m.content, m.status, m.error, (m.sibling_ids || []).join(','), m.sibling_position,
    m.completion_tokens, m.duration_ms, m.meta?.finish_reason, m.meta?.error_code].join('\u0001');
}

export class ThreadView {
  constructor(ctx) {
    this.ctx = ctx; // see message.js; plus emptyState() -> Node
    this.messages = [];
    this.start = 0;
    this.nodes = new Map(); // id -> {el, sig}
    this.inner = h('div', { class: 'thread__inner' });
    this.extra = h('div', { class: 'thread__extra' });
    this.el = h('div', { class: 'thread', role: 'log', 'aria-label': t('chat.thread'), tabindex: '-1' },
      this.inner, this.extra);
    this.jump = h('button', { type: 'button', class: 'jump-bottom', 'aria-label': t('chat.jumpToBottom'), hidden: true },
      icon('down'));
    this.jump.addEventListener('click', () => this.scrollToBottom(true));
    this.wrapper = h('div', { class: 'thread-wrap' }, this.el, this.jump);
    this.onScroll = perFrame(() => this.afterScroll());
    this.el.addEventListener('scroll', this.onScroll, { passive: true });
    this.streamText = perFrame((id, text) => this.renderStreaming(id, text));
  }

  // A conversation opens: build its newest messages and show the end (and drop the error of
  // a request that failed, unless the same conversation is only being redrawn: `keepExtra`).
  reset(messages, { keepExtra = false } = {}) {
    this.messages = messages;
    this.nodes.clear();
    this.start = Math.max(0, messages.length - CHUNK);
    this.inner.replaceChildren();
    if (!keepExtra) this.clearExtra();
    if (!messages.length) {
      this.inner.append(this.ctx.emptyState());
    } else {
      const fragment = document.createDocumentFragment();
      for (let i = this.start; i < messages.length; i += 1) fragment.append(this.node(messages[i]));
      this.inner.append(fragment);
    }
    this.scrollToBottom();
  }

  // The path changed (new message, new branch, finished answer): patch the DOM by id.
  sync(messages) {
    const old = this.messages;
    let diverge = 0;
    while (diverge < old.length && diverge < messages.length && old[diverge].id === messages[diverge].id) {
      diverge += 1;
    }
    if (!old.length || diverge < this.start) {
      this.reset(messages, { keepExtra: true });
      return;
    }
    const follow = this.atBottom();
    for (let i = diverge; i < old.length; i += 1) this.drop(old[i].id);
    this.messages = messages;
    this.inner.querySelector('.empty')?.remove();
    for (let i = this.start; i < diverge; i += 1) {
      const m = messages[i];
      const known = this.nodes.get(m.id);
      if (!known || known.sig !== signature(m) || known.streaming !== (m.id === this.ctx.streamingId)) {
        const fresh = this.node(m);
        if (known) known.el.replaceWith(fresh);
        else this.inner.append(fresh);
      }
    }
    for (let i = Math.max(diverge, this.start); i < messages.length; i += 1) this.inner.append(this.node(messages[i]));
    if (follow) this.scrollToBottom();
  }

  node(m) {
    const el = buildMessage(m, this.ctx);
    this.nodes.set(m.id, { el, sig: signature(m), streaming: m.id === this.ctx.streamingId });
    return el;
  }

  drop(id) {
    const known = this.nodes.get(id);
    if (known) known.el.remove();
    this.nodes.delete(id);
  }

  renderStreaming(id, text) {
    const known = this.nodes.get(id);
    if (!known || id !== this.ctx.streamingId) return; // a late frame after the answer ended
    const follow = this.atBottom();
    const content = known.el.querySelector('.msg__content');
    if (content) fillAnswer(content, text, true);
    if (follow) this.scrollToBottom();
  }

  // Build the chunk of messages just above the first built one, keeping the view still.
  buildEarlier() {
    if (this.start === 0) return false;
    const from = Math.max(0, this.start - CHUNK);
    const fragment = document.createDocumentFragment();
    for (let i = from; i < this.start; i += 1) fragment.append(this.node(this.messages[i]));
    const before = this.el.scrollHeight;
    const top = this.el.scrollTop;
    this.inner.prepend(fragment);
    this.start = from;
    this.el.scrollTop = top + (this.el.scrollHeight - before);
    return true;
  }

  afterScroll() {
    if (this.el.scrollTop < NEAR_TOP && this.start > 0) this.buildEarlier();
    this.jump.hidden = this.atBottom();
  }

  atBottom() {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < NEAR_BOTTOM;
  }

  scrollToBottom(smooth = false) {
    this.el.scrollTo({ top: this.el.scrollHeight, behavior: smooth ? 'smooth' : 'instant' });
    this.jump.hidden = true;
  }

  // Show one message (a search hit), building older chunks as needed.
  reveal(id) {
    const index = this.messages.findIndex((m) => m.id === id);
    if (index === -1) return false;
    while (index < this.start) this.buildEarlier();
    const known = this.nodes.get(id);
    if (!known) return false;
    known.el.scrollIntoView({ block: 'center' });
    known.el.classList.add('is-highlighted');
    setTimeout(() => known.el.classList.remove('is-highlighted'), 2000);
    return true;
  }

  // Open the editor of message `id` (building older messages if need be).
  edit(id) {
    const index = this.messages.findIndex((m) => m.id === id);
    if (index === -1) return;
    while (index < this.start) this.buildEarlier();
    const known = this.nodes.get(id);
    if (!known) return;
    startEdit(known.el, this.messages[index], this.ctx);
    known.el.scrollIntoView({ block: 'nearest' });
  }

  setBusy(busy) {
    this.el.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  // An error that belongs to no stored message (the request failed before it began).
  showError(message, onRetry) {
    const retry = h('button', { type: 'button', class: 'button button--small' }, icon('refresh'),
      h('span', { text: t('message.retry') }));
    retry.addEventListener('click', () => {
      this.clearExtra();
      onRetry();
    });
    this.extra.replaceChildren(h('div', { class: 'msg__error thread__error', role: 'alert' }, icon('alert'),
      h('span', { class: 'msg__error-text', text: message }), retry));
    this.scrollToBottom();
  }

  clearExtra() {
    this.extra.replaceChildren();
  }
}
