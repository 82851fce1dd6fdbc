// The conversation's own settings: its system prompt (or the persona's), temperature,
// maximum answer length and the tools it may use. onSave receives {system_prompt, params}.
// For a saved conversation (`conversationId`), its knowledge: documents and collections
// attached at once; for a draft, the choices go to `pending` and are attached when the
// conversation is made.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { openDialog } from '../ui/dialog.js';
import { attachmentEditor } from './knowledge.js';
import { toolTitle } from '../tools.js';

function toolChecks(tools, enabled) {
  return tools.map((tool) => {
    const box = h('input', { id: `cs-tool-${tool.name}`, type: 'checkbox', class: 'switch', value: tool.name, checked: enabled.includes(tool.name) });
    return { box, row: h('div', { class: 'check' }, box, h('label', { for: box.id, text: toolTitle(tool.name) })) };
  });
}

export function openConversationSettings({ systemPrompt, params, persona, tools = [], conversationId = null, pending = null, onSave }) {
  const prompt = h('textarea', { id: 'cs-system', class: 'input', rows: 5, placeholder: t('convSettings.systemPlaceholder') });
  prompt.value = systemPrompt || '';
  const temperature = params?.temperature ?? 0.7;
  const tempInput = h('input', { id: 'cs-temperature', type: 'range', min: 0, max: 2, step: 0.1, class: 'range', value: String(temperature) });
  const tempValue = h('output', { for: 'cs-temperature', class: 'range-value', text: Number(temperature).toFixed(1) });
  tempInput.addEventListener('input', () => {
    tempValue.textContent = Number(tempInput.value).toFixed(1);
  });
  const maxTokens = h('input', { id: 'cs-max-tokens', type: 'number', min: 1, max: 32768, step: 1, class: 'input', placeholder: t('convSettings.maxTokensDefault') });
  if (params?.max_tokens) maxTokens.value = String(params.max_tokens);
  const checks = toolChecks(tools, params?.tools || []);

  const body = h('div', { class: 'stack' },
    persona ? h('p', { class: 'muted', text: t('convSettings.persona', { name: persona.name }) }) : null,
    h('div', { class: 'field' }, h('label', { for: 'cs-system', text: t('convSettings.system') }), prompt),
    h('div', { class: 'field' },
      h('label', { for: 'cs-temperature', text: t('convSettings.temperature') }),
      h('div', { class: 'range-row' }, tempInput, tempValue),
      h('p', { class: 'field__hint', text: t('convSettings.temperatureHint') })),
    h('div', { class: 'field' }, h('label', { for: 'cs-max-tokens', text: t('convSettings.maxTokens') }), maxTokens),
    checks.length ? h('fieldset', { class: 'field' }, h('legend', { text: t('convSettings.tools') }),
      h('p', { class: 'field__hint', text: t('convSettings.toolsHint') }), checks.map((c) => c.row)) : null,
    conversationId
      ? attachmentEditor(`/api/conversations/${encodeURIComponent(conversationId)}`)
      : attachmentEditor(null, { pending: pending || [] }));

  const cancel = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
  const save = h('button', { type: 'button', class: 'button button--primary', text: t('common.save') });
  const dialog = openDialog({ title: t('convSettings.title'), body, actions: [cancel, save] });
  cancel.addEventListener('click', () => dialog.close('cancel'));
  save.addEventListener('click', async () => {
    const max = parseInt(maxTokens.value, 10);
    save.disabled = true;
    try {
      await onSave({
        system_prompt: prompt.value,
        params: {
          temperature: Number(tempInput.value),
          max_tokens: Number.isFinite(max) && max > 0 ? max : null,
          ...(checks.length ? { tools: checks.filter((c) => c.box.checked).map((c) => c.box.value) } : {}),
        },
      });
      dialog.close('ok');
    } catch {
      save.disabled = false;
    }
  });
  prompt.focus();
}
