// The signed-in app: sidebar + main area (a conversation or the admin page). The sidebar
// collapses on wide screens and becomes a drawer over the page on phones.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { ConversationList } from '../conversations.js';
import { isAdmin } from '../session.js';
import { toast } from '../ui/toast.js';
import { Sidebar } from './sidebar.js';
import { ChatView } from './chat.js';
import { AdminView } from './admin.js';
import { openSettings } from './settings.js';
import { loadPersonas, openPersonaManager } from './personas.js';
import { openKnowledgeManager } from './knowledge.js';
import { watchRuns } from '../runs.js';

const PHONE = window.matchMedia('(max-width: 768px)');

export class Shell {
  // hooks: {models, onTheme, onLanguage, onLogout}
  constructor(root, hooks) {
    this.hooks = hooks;
    this.list = new ConversationList();
    this.personas = [];
    this.pendingPersona = null;
    this.view = null;
    this.route = null;

    this.sidebar = new Sidebar({
      list: this.list,
      onClose: () => this.setSidebar(false),
      onNewChat: () => this.go('/'),
      onPersona: (persona) => {
        this.pendingPersona = persona;
        this.go('/', { force: true });
      },
      onManagePersonas: () => openPersonaManager({ models: hooks.models, onChanged: (p) => this.setPersonas(p) }),
      onKnowledge: () => openKnowledgeManager(),
      onSettings: () => openSettings({ onTheme: hooks.onTheme, onLanguage: hooks.onLanguage }),
      onAdmin: () => this.go('/admin'),
      onLogout: hooks.onLogout,
      onSearchHit: (hit) => this.go(`/c/${hit.conversation_id}`, { messageId: hit.message_id, force: true }),
      onRemoved: (id) => {
        if (this.route?.name === 'chat' && this.route.id === id) navigate('/', { replace: true });
      },
      onRenamed: (id, title) => {
        if (this.view instanceof ChatView && this.view.conversation?.id === id) {
          this.view.conversation.title = title;
          this.view.topbar.setTitle(title);
        }
      },
    });
    this.main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
    this.scrim = h('div', { class: 'scrim', 'aria-hidden': 'true' });
    this.scrim.addEventListener('click', () => this.setSidebar(false));
    const skip = h('a', { href: '#composer-input', class: 'skip-link', text: t('common.skipToChat') });
    this.el = h('div', { class: 'shell' }, skip, this.sidebar.el, this.scrim, this.main);
    this.el.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && PHONE.matches && this.el.classList.contains('shell--drawer-open')) {
        this.setSidebar(false);
      }
    });
    root.replaceChildren(this.el);
    root.classList.remove('app--loading');
    root.removeAttribute('aria-busy');
    this.setSidebar(!PHONE.matches, { focus: false });
    PHONE.addEventListener('change', () => this.setSidebar(!PHONE.matches, { focus: false }));

    this.list.load().catch((error) => toast(error.message, 'error'));
    // answers go on in the background: the sidebar shows which, and their new titles
    this.unwatchRuns = watchRuns((kind) => {
      this.sidebar.showAnswering();
      if (kind !== 'start') this.list.load().catch(() => {});
    });
    loadPersonas().then((p) => this.setPersonas(p)).catch(() => this.setPersonas([]));
  }

  setPersonas(personas) {
    this.personas = personas;
    this.sidebar.renderPersonas(personas);
  }

  sidebarOpen() {
    return PHONE.matches ? this.el.classList.contains('shell--drawer-open') : !this.el.classList.contains('shell--collapsed');
  }

  setSidebar(open, { focus = true } = {}) {
    if (PHONE.matches) {
      this.el.classList.remove('shell--collapsed');
      this.el.classList.toggle('shell--drawer-open', open);
      this.sidebar.el.inert = !open;
    } else {
      this.el.classList.remove('shell--drawer-open');
      this.el.classList.toggle('shell--collapsed', !open);
      this.sidebar.el.inert = !open;
    }
    if (focus && open) this.sidebar.el.querySelector('.sidebar__new')?.focus();
  }

  toggleSidebar() {
    this.setSidebar(!this.sidebarOpen());
  }

  go(path, { messageId = null, force = false } = {}) {
    navigate(path, { silent: true });
    this.show({ ...parsePath(path), messageId }, { force });
  }

  // Show a route: {name: 'new' | 'chat' | 'admin', id?, messageId?}
  show(route, { force = false } = {}) {
    const same = this.route && this.route.name === route.name && this.route.id === route.id;
    this.route = route;
    if (PHONE.matches) this.setSidebar(false, { focus: false });
    if (route.name === 'admin') {
      if (!isAdmin()) {
        navigate('/', { replace: true });
        return;
      }
      this.mount(new AdminView({ onToggleSidebar: () => this.toggleSidebar() }));
      this.sidebar.setActive(null);
      return;
    }
    const chat = this.chatView();
    if (route.name === 'chat') {
      this.sidebar.setActive(route.id);
      if (!same || force || chat.conversation?.id !== route.id) chat.open(route.id, { messageId: route.messageId });
    } else {
      this.sidebar.setActive(null);
      const persona = this.pendingPersona;
      this.pendingPersona = null;
      if (!same || force || persona || chat.conversation) chat.newChat(persona);
    }
  }

  chatView() {
    if (this.view instanceof ChatView) return this.view;
    const chat = new ChatView({
      models: this.hooks.models,
      onToggleSidebar: () => this.toggleSidebar(),
      onChanged: () => {
        this.list.load().catch(() => {});
        if (chat.conversation) this.sidebar.setActive(chat.conversation.id);
        if (chat.conversation) this.route = { name: 'chat', id: chat.conversation.id };
      },
    });
    this.mount(chat);
    return chat;
  }

  mount(view) {
    if (this.view && this.view.destroy) this.view.destroy();
    this.view = view;
    this.main.replaceChildren(view.el);
  }

  destroy() {
    this.unwatchRuns();
    if (this.view && this.view.destroy) this.view.destroy();
  }
}

function parsePath(path) {
  const match = path.match(/^\/c\/([A-Za-z0-9_-]+)/);
  if (match) return { name: 'chat', id: match[1] };
  if (path === '/admin') return { name: 'admin' };
  return { name: 'new' };
}
