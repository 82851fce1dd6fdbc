// The settings dialog: theme and language (saved to the account), custom instructions,
// API keys and the password.

import { h, nextId } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { openDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { session, changePassword } from '../session.js';
import { keysPanel } from './keys.js';

export const DEFAULT_SETTINGS = { custom_instructions: '', preferences: { theme: 'system', language: 'auto' } };

export async function loadSettings() {
  try {
    return await api.get('/api/me/settings');
  } catch (error) {
    if (error.status === 404) return structuredClone(DEFAULT_SETTINGS); // server without it
    throw error;
  }
}

export async function saveSettings(changes) {
  const current = session.settings || structuredClone(DEFAULT_SETTINGS);
  const next = {
    custom_instructions: changes.custom_instructions ?? current.custom_instructions,
    preferences: { ...current.preferences, ...(changes.preferences || {}) },
  };
  session.settings = next;
  try {
    session.settings = await api.put('/api/me/settings', next);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  return session.settings;
}

const TABS = ['general', 'personalisation', 'keys', 'account'];

// hooks: {onTheme(theme), onLanguage(lang)}; `tab` opens on that tab.
export function openSettings(hooks, tab = 'general') {
  const panels = { general, personalisation, keys: keysPanel, account };
  const tabButtons = [];
  const panelSlot = h('div', { class: 'settings__panel', role: 'tabpanel', tabindex: '0' });
  let dialog = null;
  const select = (name) => {
    tabButtons.forEach((b) => {
      const on = b.dataset.tab === name;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
      if (on) panelSlot.setAttribute('aria-labelledby', b.id);
    });
    panelSlot.replaceChildren(panels[name]({ ...hooks, reopen: (next) => {
      dialog.close('reopen');
      openSettings(hooks, next);
    } }));
  };
  for (const name of TABS) {
    const button = h('button', { type: 'button', role: 'tab', id: nextId('settings-tab'), class: 'settings__tab', dataset: { tab: name }, text: t(`settings.tabs.${name}`) });
    button.addEventListener('click', () => select(name));
    button.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp' && event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
      event.preventDefault();
      const step = event.key === 'ArrowDown' || event.key === 'ArrowRight' ? 1 : -1;
      const next = tabButtons[(tabButtons.indexOf(button) + step + tabButtons.length) % tabButtons.length];
      next.focus();
      select(next.dataset.tab);
    });
    tabButtons.push(button);
  }
  const body = h('div', { class: 'settings' },
    h('div', { class: 'settings__tabs', role: 'tablist', 'aria-orientation': 'vertical', 'aria-label': t('settings.title') }, tabButtons),
    panelSlot);
  dialog = openDialog({ title: t('settings.title'), body, className: 'dialog--settings' });
  select(tab);
  tabButtons.find((b) => b.dataset.tab === tab)?.focus();
}

function general({ onTheme, onLanguage, reopen }) {
  const prefs = session.settings?.preferences || DEFAULT_SETTINGS.preferences;
  const themes = ['system', 'light', 'dark'].map((value) => {
    const id = `theme-${value}`;
    const radio = h('input', { type: 'radio', name: 'theme', id, value, checked: prefs.theme === value });
    radio.addEventListener('change', async () => {
      onTheme(value);
      try {
        await saveSettings({ preferences: { theme: value } });
      } catch (error) {
        toast(error.message, 'error');
      }
    });
    return h('div', { class: 'segmented__item' }, radio, h('label', { for: id, text: t(`settings.theme.${value}`) }));
  });
  const language = h('select', { id: 'settings-language', class: 'input' },
    h('option', { value: 'auto', text: t('settings.language.auto') }),
    h('option', { value: 'en', text: 'English' }),
    h('option', { value: 'fr', text: 'Français' }));
  language.value = prefs.language || 'auto';
  language.addEventListener('change', async () => {
    try {
      await saveSettings({ preferences: { language: language.value } });
    } catch (error) {
      toast(error.message, 'error');
    }
    await onLanguage(language.value);
    reopen('general');
  });
  return h('div', { class: 'stack' },
    h('fieldset', { class: 'field' },
      h('legend', { text: t('settings.theme.label') }),
      h('div', { class: 'segmented' }, themes)),
    h('div', { class: 'field' },
      h('label', { for: 'settings-language', text: t('settings.language.label') }),
      language));
}

function personalisation() {
  const area = h('textarea', { id: 'settings-instructions', class: 'input', rows: 8, maxlength: 5000, placeholder: t('settings.instructions.placeholder') });
  area.value = session.settings?.custom_instructions || '';
  const save = h('button', { type: 'submit', class: 'button button--primary', text: t('common.save') });
  const form = h('form', { class: 'stack' },
    h('div', { class: 'field' },
      h('label', { for: 'settings-instructions', text: t('settings.instructions.label') }),
      h('p', { class: 'field__hint', text: t('settings.instructions.hint') }),
      area),
    h('div', { class: 'form-actions' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      await saveSettings({ custom_instructions: area.value });
      toast(t('common.saved'));
    } catch (error) {
      toast(error.message, 'error');
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function account() {
  const user = session.user || {};
  const current = h('input', { id: 'pw-current', type: 'password', class: 'input', autocomplete: 'current-password' });
  const next = h('input', { id: 'pw-new', type: 'password', class: 'input', autocomplete: 'new-password' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'button button--primary', text: t('settings.password.change') });
  const form = h('form', { class: 'stack' },
    h('h3', { text: t('settings.password.title') }),
    h('div', { class: 'field' }, h('label', { for: 'pw-current', text: t('settings.password.current') }), current),
    h('div', { class: 'field' }, h('label', { for: 'pw-new', text: t('settings.password.new') }), next),
    error,
    h('div', { class: 'form-actions' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    save.disabled = true;
    try {
      await changePassword(current.value, next.value);
      current.value = '';
      next.value = '';
      toast(t('settings.password.changed'));
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
  return h('div', { class: 'stack' },
    h('dl', { class: 'facts' },
      h('dt', { text: t('auth.name') }), h('dd', { text: user.name || '—' }),
      h('dt', { text: t('auth.email') }), h('dd', { text: user.email || '' }),
      h('dt', { text: t('admin.role') }), h('dd', { text: t(`admin.roles.${user.role || 'user'}`) })),
    form);
}
