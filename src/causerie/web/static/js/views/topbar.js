// The bar above a conversation: the sidebar toggle, the model picker, the title and the
// conversation settings (system prompt, temperature, max tokens).

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';

export class Topbar {
  constructor({ models, onToggleSidebar, onModel, onSettings, onNewChat }) {
    this.models = models;
    this.picker = h('select', { id: 'model-picker', class: 'model-picker', 'aria-label': t('chat.model') });
    this.picker.addEventListener('change', () => onModel(this.picker.value));
    this.title = h('h1', { class: 'topbar__title' });
    const toggle = h('button', { type: 'button', class: 'icon-button topbar__toggle', 'aria-label': t('sidebar.open'), title: t('sidebar.open') },
      icon('panel'));
    toggle.addEventListener('click', onToggleSidebar);
    const settings = h('button', { type: 'button', class: 'icon-button', 'aria-label': t('chat.settings'), title: t('chat.settings') },
      icon('sliders'));
    settings.addEventListener('click', onSettings);
    const newChat = h('button', { type: 'button', class: 'icon-button topbar__new', 'aria-label': t('sidebar.newChat'), title: t('sidebar.newChat') },
      icon('edit'));
    newChat.addEventListener('click', onNewChat);
    this.el = h('header', { class: 'topbar' },
      toggle,
      h('div', { class: 'model-picker-wrap' }, this.picker, icon('down', 'model-picker__chevron')),
      this.title,
      h('div', { class: 'topbar__actions' }, settings, newChat));
  }

  setModel(model) {
    const ids = this.models.map((m) => m.id);
    const choices = model && !ids.includes(model) ? [...ids, model] : ids;
    this.picker.replaceChildren(...choices.map((id) => h('option', { value: id, text: id })));
    this.picker.value = model || ids[0] || '';
    this.picker.disabled = choices.length === 0;
  }

  setTitle(text) {
    this.title.textContent = text || '';
  }
}
