// Tool calls in the thread. A `tool` message is a collapsible block: the tool's name, the
// arguments the model sent, the result. Everything the model or a tool wrote goes in as
// text (textContent through h()), never as HTML. A pending block means "still running".

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { toolTitle } from '../tools.js';

function pretty(argumentsText) {
  try {
    return JSON.stringify(JSON.parse(argumentsText || '{}'), null, 2);
  } catch {
    return String(argumentsText || '');
  }
}

function section(label, text, extra = '') {
  return h('div', { class: 'toolblock__section' },
    h('div', { class: 'toolblock__label', text: label }),
    h('pre', { class: `toolblock__pre ${extra}`.trim(), text }));
}

export function buildToolMessage(msg) {
  const meta = msg.meta || {};
  const running = msg.status === 'streaming';
  const state = running ? t('toolblock.running')
    : msg.status === 'interrupted' ? t('toolblock.interrupted') : '';
  const details = h('details', { class: 'toolblock' },
    h('summary', { class: 'toolblock__summary' },
      h('span', { class: 'toolblock__name', text: t('toolblock.called', { name: toolTitle(meta.name) }) }),
      state ? h('span', { class: 'toolblock__state', text: state }) : null),
    section(t('toolblock.arguments'), pretty(meta.arguments), 'toolblock__arguments'),
    running ? null : section(t('toolblock.result'), msg.content || '', 'toolblock__result'));
  return h('article', {
    class: `msg msg--tool${running ? ' is-running' : ''}`,
    'aria-label': t('toolblock.label', { name: toolTitle(meta.name) }),
    dataset: { id: msg.id, status: msg.status },
  }, h('div', { class: 'msg__body' }, details));
}

// A stand-in for a call whose result has not come back yet (replaced by the stored one).
export function pendingToolMessage(call, parentId) {
  return {
    id: `pending-${call.id}`,
    parent_id: parentId,
    role: 'tool',
    content: '',
    status: 'streaming',
    meta: { tool_call_id: call.id, name: call.name, arguments: call.arguments },
  };
}

// The composer's "use a tool for this message" picker: a <select> of every tool, or none.
export function toolPicker(tools) {
  const select = h('select', { class: 'composer__tool', 'aria-label': t('composer.tool'), title: t('composer.tool') },
    h('option', { value: '', text: t('composer.toolAuto') }),
    tools.map((tool) => h('option', { value: tool.name, text: toolTitle(tool.name) })));
  return select;
}
