// The sidebar: new chat, server-side search over every message, the conversations grouped
// by date (rename, pin, delete with confirmation; a spinner on those still answering),
// personas, and the account menu.

import { h, debounce } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { api, query } from '../api.js';
import { navigate } from '../router.js';
import { groupByDate } from '../conversations.js';
import { renderSnippet } from '../markdown.js';
import { confirmDialog } from '../ui/dialog.js';
import { openMenu } from '../ui/menu.js';
import { toast } from '../ui/toast.js';
import { session, isAdmin } from '../session.js';
import { liveRun } from '../runs.js';

export class Sidebar {
  // hooks: {list, personas, onClose, onNewChat, onPersona(p), onManagePersonas, onSettings, onAdmin, onLogout, onSearchHit(hit)}
  constructor(hooks) {
    this.hooks = hooks;
    this.activeId = null;
    this.query = '';
    this.results = null;

    const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': t('sidebar.close'), title: t('sidebar.close') }, icon('panel'));
    close.addEventListener('click', hooks.onClose);
    const newChat = h('button', { type: 'button', class: 'sidebar__new' }, icon('edit'), h('span', { text: t('sidebar.newChat') }));
    newChat.addEventListener('click', hooks.onNewChat);
    const knowledge = h('button', { type: 'button', class: 'sidebar__new sidebar__knowledge' }, icon('copy'), h('span', { text: t('knowledge.open') }));
    knowledge.addEventListener('click', () => hooks.onKnowledge?.());

    this.search = h('input', { id: 'sidebar-search', type: 'search', class: 'sidebar__search-input', placeholder: t('sidebar.search'), autocomplete: 'off' });
    const searchBox = h('div', { class: 'sidebar__search', role: 'search' },
      h('label', { for: 'sidebar-search', class: 'sr-only', text: t('sidebar.search') }),
      icon('search'), this.search);
    const runSearch = debounce(() => this.runSearch(), 250);
    this.search.addEventListener('input', () => {
      this.query = this.search.value.trim();
      if (!this.query) {
        this.results = null;
        this.renderList();
      } else runSearch();
    });
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.search.value) {
        event.preventDefault();
        event.stopPropagation();
        this.search.value = '';
        this.query = '';
        this.results = null;
        this.renderList();
      }
    });

    this.personaList = h('ul', { class: 'persona-list' });
    const manage = h('button', { type: 'button', class: 'icon-button icon-button--small', 'aria-label': t('personas.manage'), title: t('personas.manage') }, icon('gear'));
    manage.addEventListener('click', hooks.onManagePersonas);
    this.personaSection = h('section', { class: 'sidebar__section', 'aria-labelledby': 'personas-heading' },
      h('div', { class: 'sidebar__heading-row' }, h('h2', { id: 'personas-heading', class: 'sidebar__heading', text: t('personas.title') }), manage),
      this.personaList);

    this.listEl = h('div', { class: 'conv-groups' });
    this.scroller = h('nav', { class: 'sidebar__scroll', 'aria-label': t('sidebar.conversations') }, this.personaSection, this.listEl);

    this.account = h('button', { type: 'button', class: 'account', 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
      h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(session.user) }),
      h('span', { class: 'account__name', text: session.user?.name || session.user?.email || '' }),
      icon('more'));
    this.account.addEventListener('click', () => this.openAccountMenu());

    this.el = h('aside', { id: 'sidebar', class: 'sidebar', 'aria-label': t('sidebar.label') },
      h('div', { class: 'sidebar__top' },
        h('span', { class: 'brand' }, icon('logo', 'brand__logo'), h('span', { text: 'Causerie' })),
        close),
      newChat, knowledge, searchBox, this.scroller,
      h('div', { class: 'sidebar__foot' }, this.account));

    hooks.list.onChange(() => this.renderList());
    this.renderList();
    this.renderPersonas([]);
  }

  setActive(id) {
    this.activeId = id;
    for (const item of this.listEl.querySelectorAll('.conv-item')) {
      const active = item.dataset.id === id;
      item.classList.toggle('is-active', active);
      const link = item.querySelector('a');
      if (link) {
        if (active) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
    }
  }

  // --- personas --------------------------------------------------------------------------
  renderPersonas(personas) {
    this.personaList.replaceChildren(...personas.map((p) => {
      const button = h('button', { type: 'button', class: 'persona-item', title: p.description || p.name },
        h('span', { class: 'persona-item__badge', 'aria-hidden': 'true', text: (p.name || '?').trim().charAt(0).toUpperCase() }),
        h('span', { class: 'persona-item__name', text: p.name }));
      button.addEventListener('click', () => this.hooks.onPersona(p));
      return h('li', {}, button);
    }));
    if (!personas.length) {
      const create = h('button', { type: 'button', class: 'link-button', text: t('personas.create') });
      create.addEventListener('click', this.hooks.onManagePersonas);
      this.personaList.append(h('li', { class: 'sidebar__empty' }, create));
    }
  }

  // --- conversations ---------------------------------------------------------------------
  renderList() {
    if (this.results) {
      this.renderResults();
      return;
    }
    const { list } = this.hooks;
    const groups = groupByDate(list.items);
    const nodes = groups.map((group) => h('section', { class: 'conv-group', 'aria-label': group.label },
      h('h2', { class: 'sidebar__heading', text: group.label }),
      h('ul', { class: 'conv-list' }, group.items.map((c) => this.item(c)))));
    if (!list.items.length) nodes.push(h('p', { class: 'sidebar__empty', text: t('sidebar.noConversations') }));
    if (list.hasMore) {
      const more = h('button', { type: 'button', class: 'link-button sidebar__more', text: t('sidebar.loadMore') });
      more.addEventListener('click', () => list.loadMore().catch((e) => toast(e.message, 'error')));
      nodes.push(more);
    }
    this.listEl.replaceChildren(...nodes);
    this.setActive(this.activeId);
    this.showAnswering();
  }

  // Mark the conversations whose answer is still being written (see runs.js).
  showAnswering() {
    for (const item of this.listEl.querySelectorAll('.conv-item')) {
      const link = item.querySelector('.conv-item__link');
      const mark = item.querySelector('.conv-item__answering');
      const answering = Boolean(liveRun(item.dataset.id));
      if (answering && !mark) {
        link.append(h('span', { class: 'conv-item__answering', role: 'img', 'aria-label': t('sidebar.answering'), title: t('sidebar.answering') }));
      } else if (!answering && mark) mark.remove();
    }
  }

  item(conv) {
    const title = conv.title || t('sidebar.untitled');
    const link = h('a', { href: `/c/${conv.id}`, class: 'conv-item__link' },
      conv.pinned ? icon('pin', 'conv-item__pin') : null,
      h('span', { class: 'conv-item__title', text: title }));
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      navigate(`/c/${conv.id}`);
    });
    const more = h('button', { type: 'button', class: 'icon-button icon-button--small conv-item__more', 'aria-label': t('sidebar.options', { title }), 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
      icon('more'));
    const li = h('li', { class: 'conv-item', dataset: { id: conv.id } }, link, more);
    more.addEventListener('click', () => openMenu(more, [
      { label: t('sidebar.rename'), icon: 'edit', onSelect: () => this.rename(li, conv) },
      { label: conv.pinned ? t('sidebar.unpin') : t('sidebar.pin'), icon: 'pin', onSelect: () => this.pin(conv) },
      { label: t('sidebar.delete'), icon: 'trash', danger: true, onSelect: () => this.remove(conv) },
    ], { label: t('sidebar.options', { title }) }));
    return li;
  }

  rename(li, conv) {
    const input = h('input', { type: 'text', class: 'conv-item__rename', 'aria-label': t('sidebar.renameLabel'), maxlength: 300 });
    input.value = conv.title || '';
    const link = li.querySelector('a');
    link.hidden = true;
    li.prepend(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      input.remove();
      link.hidden = false;
      if (save && title && title !== conv.title) {
        try {
          await this.hooks.list.update(conv.id, { title });
          this.hooks.onRenamed?.(conv.id, title);
        } catch (error) {
          toast(error.message, 'error');
        }
      }
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        finish(true);
      } else if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
  }

  async pin(conv) {
    try {
      await this.hooks.list.update(conv.id, { pinned: !conv.pinned });
    } catch (error) {
      toast(error.message, 'error');
    }
  }

  async remove(conv) {
    const ok = await confirmDialog({
      title: t('sidebar.deleteTitle'),
      message: t('sidebar.deleteMessage', { title: conv.title || t('sidebar.untitled') }),
      confirm: t('sidebar.delete'),
      danger: true,
    });
    if (!ok) return;
    try {
      await this.hooks.list.remove(conv.id);
      this.hooks.onRemoved?.(conv.id);
      toast(t('sidebar.deleted'));
    } catch (error) {
      toast(error.message, 'error');
    }
  }

  // --- search ----------------------------------------------------------------------------
  async runSearch() {
    const q = this.query;
    if (!q) return;
    let hits;
    try {
      hits = (await api.get(`/api/search${query({ q, limit: 30 })}`)).data;
    } catch (error) {
      if (error.status !== 404) {
        toast(error.message, 'error');
        return;
      }
      const needle = q.toLowerCase(); // no search route on this server: match titles here
      hits = this.hooks.list.items
        .filter((c) => (c.title || '').toLowerCase().includes(needle))
        .map((c) => ({ conversation_id: c.id, conversation_title: c.title, message_id: null, snippet: '' }));
    }
    if (q !== this.query) return;
    this.results = hits;
    this.renderResults();
  }

  renderResults() {
    const hits = this.results || [];
    const items = hits.map((hit) => {
      const link = h('a', { href: `/c/${hit.conversation_id}`, class: 'search-hit' },
        h('span', { class: 'search-hit__title', text: hit.conversation_title || t('sidebar.untitled') }),
        hit.snippet ? h('span', { class: 'search-hit__snippet' }, renderSnippet(hit.snippet)) : null);
      link.addEventListener('click', (event) => {
        event.preventDefault();
        this.hooks.onSearchHit(hit);
      });
      return h('li', {}, link);
    });
    this.listEl.replaceChildren(
      h('section', { class: 'conv-group', 'aria-label': t('sidebar.results') },
        h('h2', { class: 'sidebar__heading', text: t('sidebar.resultsCount', { count: hits.length }) }),
        items.length ? h('ul', { class: 'conv-list' }, items) : h('p', { class: 'sidebar__empty', text: t('sidebar.noResults') })));
  }

  // --- account ---------------------------------------------------------------------------
  openAccountMenu() {
    const items = [{ label: t('settings.title'), icon: 'gear', onSelect: this.hooks.onSettings }];
    if (isAdmin()) items.push({ label: t('admin.title'), icon: 'shield', onSelect: this.hooks.onAdmin });
    items.push({ label: t('auth.logout'), icon: 'logout', onSelect: this.hooks.onLogout });
    openMenu(this.account, items, { label: t('sidebar.account') });
  }
}

function initials(user) {
  const source = (user?.name || user?.email || '?').trim();
  const parts = source.split(/[\s@._-]+/).filter(Boolean);
  return ((parts[0]?.[0] || '?') + (parts[1]?.[0] || '')).toUpperCase();
}
