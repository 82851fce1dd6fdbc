// Personas: reusable system prompts with a model and sampling defaults. The dialog lists
// them and edits or deletes the user's own; a conversation starts from one in the sidebar.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { openDialog, confirmDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { isAdmin } from '../session.js';
import { attachmentEditor } from './knowledge.js';

export async function loadPersonas() {
  try {
    return (await api.get('/api/personas')).data;
  } catch (error) {
    if (error.status === 404) return []; // a server without personas
    throw error;
  }
}

export function openPersonaManager({ models, onChanged }) {
  const list = h('ul', { class: 'persona-admin' });
  const formSlot = h('div');
  const body = h('div', { class: 'stack' }, list, formSlot);
  const add = h('button', { type: 'button', class: 'button' }, icon('plus'), h('span', { text: t('personas.new') }));
  const dialog = openDialog({ title: t('personas.manage'), body, actions: [add], className: 'dialog--wide' });

  const refresh = async () => {
    const personas = await loadPersonas();
    list.replaceChildren(...personas.map((p) => row(p)));
    if (!personas.length) list.append(h('li', { class: 'muted', text: t('personas.none') }));
    onChanged(personas);
  };

  const row = (p) => {
    const actions = h('div', { class: 'row-actions' });
    if (p.mine) {
      const edit = h('button', { type: 'button', class: 'icon-button icon-button--small', 'aria-label': t('personas.edit', { name: p.name }) }, icon('edit'));
      edit.addEventListener('click', () => showForm(p));
      const remove = h('button', { type: 'button', class: 'icon-button icon-button--small', 'aria-label': t('personas.delete', { name: p.name }) }, icon('trash'));
      remove.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: t('personas.deleteTitle'), message: t('personas.deleteMessage', { name: p.name }), confirm: t('common.delete'), danger: true });
        if (!ok) return;
        try {
          await api.del(`/api/personas/${p.id}`);
          await refresh();
        } catch (error) {
          toast(error.message, 'error');
        }
      });
      actions.append(edit, remove);
    }
    return h('li', { class: 'persona-admin__row' },
      h('div', { class: 'persona-admin__text' },
        h('strong', { text: p.name }),
        p.shared ? h('span', { class: 'badge', text: t('personas.shared') }) : null,
        p.description ? h('span', { class: 'muted', text: p.description }) : null),
      actions);
  };

  const showForm = (persona = null) => {
    const name = input('p-name', 'text', persona?.name || '');
    name.required = true;
    name.maxLength = 200;
    const description = input('p-description', 'text', persona?.description || '');
    const prompt = h('textarea', { id: 'p-system', class: 'input', rows: 4 });
    prompt.value = persona?.system_prompt || '';
    const model = h('select', { id: 'p-model', class: 'input' },
      h('option', { value: '', text: t('personas.defaultModel') }),
      models.map((m) => h('option', { value: m.id, text: m.id })));
    model.value = persona?.model || '';
    const temperature = input('p-temperature', 'number', persona?.params?.temperature ?? '');
    Object.assign(temperature, { min: 0, max: 2, step: 0.1 });
    const shared = h('input', { id: 'p-shared', type: 'checkbox', checked: Boolean(persona?.shared) });
    const save = h('button', { type: 'submit', class: 'button button--primary', text: t('common.save') });
    const cancel = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const form = h('form', { class: 'stack card' },
      h('h3', { text: persona ? t('personas.editTitle') : t('personas.new') }),
      labelled('p-name', t('personas.name'), name),
      labelled('p-description', t('personas.description'), description),
      labelled('p-system', t('convSettings.system'), prompt),
      h('div', { class: 'grid-2' },
        labelled('p-model', t('chat.model'), model),
        labelled('p-temperature', t('convSettings.temperature'), temperature)),
      isAdmin() ? h('div', { class: 'check' }, shared, h('label', { for: 'p-shared', text: t('personas.shareAll') })) : null,
      persona ? attachmentEditor(`/api/personas/${encodeURIComponent(persona.id)}`) : h('p', { class: 'field__hint', text: t('knowledge.attachAfterSave') }),
      error,
      h('div', { class: 'form-actions' }, cancel, save));
    cancel.addEventListener('click', () => formSlot.replaceChildren());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!name.value.trim()) {
        error.textContent = t('personas.nameRequired');
        error.hidden = false;
        return;
      }
      const temp = parseFloat(temperature.value);
      const payload = {
        name: name.value.trim(),
        description: description.value.trim(),
        system_prompt: prompt.value,
        model: model.value || null,
        params: Number.isFinite(temp) ? { temperature: temp } : {},
      };
      if (isAdmin()) payload.shared = shared.checked;
      save.disabled = true;
      try {
        if (persona) await api.patch(`/api/personas/${persona.id}`, payload);
        else await api.post('/api/personas', payload);
        formSlot.replaceChildren();
        await refresh();
        toast(t('common.saved'));
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
        save.disabled = false;
      }
    });
    formSlot.replaceChildren(form);
    name.focus();
  };

  add.addEventListener('click', () => showForm());
  refresh().catch((error) => toast(error.message, 'error'));
  return dialog;
}

function input(id, type, value) {
  const el = h('input', { id, type, class: 'input' });
  el.value = String(value ?? '');
  return el;
}

function labelled(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
}
