// API keys for the OpenAI-compatible API: create (the secret is shown once), list, revoke.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t, formatDate } from '../i18n.js';
import { api } from '../api.js';
import { copyText } from '../clipboard.js';
import { confirmDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';

export function keysPanel() {
  const list = h('ul', { class: 'key-list' });
  const reveal = h('div', { class: 'key-reveal', hidden: true });
  const name = h('input', { id: 'key-name', type: 'text', class: 'input', maxlength: 200, placeholder: t('keys.namePlaceholder') });
  const create = h('button', { type: 'submit', class: 'button button--primary' }, icon('plus'), h('span', { text: t('keys.create') }));
  const form = h('form', { class: 'inline-form' },
    h('label', { for: 'key-name', class: 'sr-only', text: t('keys.name') }), name, create);

  const refresh = async () => {
    const keys = (await api.get('/api/keys')).data;
    list.replaceChildren(...keys.map((key) => {
      const revoke = h('button', { type: 'button', class: 'button button--small button--danger-text', text: t('keys.revoke') });
      revoke.setAttribute('aria-label', t('keys.revokeLabel', { name: key.name || key.prefix }));
      revoke.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: t('keys.revokeTitle'), message: t('keys.revokeMessage', { name: key.name || key.prefix }), confirm: t('keys.revoke'), danger: true });
        if (!ok) return;
        try {
          await api.del(`/api/keys/${key.id}`);
          await refresh();
        } catch (error) {
          toast(error.message, 'error');
        }
      });
      return h('li', { class: 'key-row' },
        icon('key'),
        h('div', { class: 'key-row__text' },
          h('strong', { text: key.name || t('keys.unnamed') }),
          h('span', { class: 'muted mono', text: `${key.prefix}…` }),
          h('span', { class: 'muted', text: key.last_used_at ? t('keys.lastUsed', { date: formatDate(key.last_used_at) }) : t('keys.neverUsed') })),
        revoke);
    }));
    if (!keys.length) list.append(h('li', { class: 'muted', text: t('keys.none') }));
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    create.disabled = true;
    try {
      const created = await api.post('/api/keys', { name: name.value.trim() });
      name.value = '';
      const secret = h('code', { class: 'key-reveal__secret', text: created.key });
      const copy = h('button', { type: 'button', class: 'button button--small' }, icon('copy'), h('span', { text: t('message.copy') }));
      copy.addEventListener('click', async () => {
        if (await copyText(created.key)) toast(t('message.copied'));
      });
      reveal.replaceChildren(h('p', { text: t('keys.shownOnce') }), h('div', { class: 'key-reveal__row' }, secret, copy));
      reveal.hidden = false;
      await refresh();
    } catch (error) {
      toast(error.message, 'error');
    } finally {
      create.disabled = false;
    }
  });

  refresh().catch((error) => toast(error.message, 'error'));
  return h('div', { class: 'stack' }, h('p', { class: 'muted', text: t('keys.lead') }), form, reveal, list);
}
