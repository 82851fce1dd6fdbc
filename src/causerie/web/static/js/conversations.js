// The signed-in user's conversation list (pinned first, newest first), loaded a page at a
// time, and the grouping by date that the sidebar shows.

import { api, query } from './api.js';
import { t, formatDate } from './i18n.js';

const PAGE = 100;

export class ConversationList {
  constructor() {
    this.items = [];
    this.total = 0;
    this.listeners = new Set();
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  emit() {
    this.listeners.forEach((fn) => fn(this));
  }

  async load() {
    const page = await api.get(`/api/conversations${query({ limit: Math.max(PAGE, this.items.length), offset: 0 })}`);
    this.items = page.data;
    this.total = page.total;
    this.emit();
  }

  async loadMore() {
    const page = await api.get(`/api/conversations${query({ limit: PAGE, offset: this.items.length })}`);
    const known = new Set(this.items.map((c) => c.id));
    this.items = [...this.items, ...page.data.filter((c) => !known.has(c.id))];
    this.total = page.total;
    this.emit();
  }

  get hasMore() {
    return this.items.length < this.total;
  }

  async update(id, changes) {
    const updated = await api.patch(`/api/conversations/${id}`, changes);
    await this.load();
    return updated;
  }

  async remove(id) {
    await api.del(`/api/conversations/${id}`);
    this.items = this.items.filter((c) => c.id !== id);
    this.total = Math.max(0, this.total - 1);
    this.emit();
  }
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

// [{key, label, items}] in display order: pinned, today, yesterday, 7 days, 30 days,
// then one group per month.
export function groupByDate(items, now = new Date()) {
  const today = startOfDay(now);
  const day = 86_400_000;
  const groups = new Map();
  const add = (key, label, conv) => {
    if (!groups.has(key)) groups.set(key, { key, label, items: [] });
    groups.get(key).items.push(conv);
  };
  for (const conv of items) {
    if (conv.pinned) {
      add('pinned', t('sidebar.pinned'), conv);
      continue;
    }
    const when = new Date(conv.updated_at);
    const start = startOfDay(when);
    if (start >= today) add('today', t('sidebar.today'), conv);
    else if (start >= today - day) add('yesterday', t('sidebar.yesterday'), conv);
    else if (start >= today - 7 * day) add('week', t('sidebar.previous7'), conv);
    else if (start >= today - 30 * day) add('month', t('sidebar.previous30'), conv);
    else {
      const key = `${when.getFullYear()}-${when.getMonth()}`;
      add(key, formatDate(when, { month: 'long', year: 'numeric' }), conv);
    }
  }
  return Array.from(groups.values());
}
