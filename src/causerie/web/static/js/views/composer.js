// The message box: Enter sends, Shift+Enter adds a line, the button turns into Stop while
// an answer streams (Esc stops too; see chat.js). The box grows with its text. A picker
// may force one tool for the next message. A message the server never took comes back
// (restore) and can be sent again (submit).

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { toolPicker } from './toolblock.js';

const MAX_HEIGHT = 240; // px

export class Composer {
  constructor({ onSend, onStop }) {
    this.onSend = onSend;
    this.streaming = false;
    this.area = h('textarea', {
      id: 'composer-input',
      class: 'composer__input',
      rows: 1,
      placeholder: t('composer.placeholder'),
      'aria-label': t('composer.label'),
      enterkeyhint: 'send',
    });
    this.send = h('button', { type: 'submit', class: 'composer__button', 'aria-label': t('composer.send'), title: t('composer.send') },
      icon('send'));
    this.stop = h('button', { type: 'button', class: 'composer__button composer__button--stop', 'aria-label': t('composer.stop'), title: t('composer.stop'), hidden: true },
      icon('stop'));
    this.tool = null; // the "use a tool" picker, once the tools are known (setTools)
    this.box = h('div', { class: 'composer__box' }, this.area, this.send, this.stop);
    this.form = h('form', { class: 'composer' },
      this.box,
      h('p', { class: 'composer__hint', text: t('composer.hint') }));
    this.el = this.form;

    this.area.addEventListener('input', () => this.resize());
    this.area.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.stop.addEventListener('click', () => onStop());
    this.updateButtons();
  }

  submit() {
    const text = this.area.value.trim();
    if (!text || this.streaming) return;
    this.area.value = '';
    this.resize();
    this.updateButtons();
    this.onSend(text);
  }

  // Put back a message that was not sent (before anything typed since) and its tool.
  restore(text, tool = '') {
    const typed = this.area.value.trim();
    this.setText(typed ? `${text}\n\n${typed}` : text);
    if (tool && this.tool) this.tool.value = tool;
  }

  setTools(tools) {
    this.tool?.remove();
    this.tool = tools.length ? toolPicker(tools) : null;
    if (this.tool) this.box.prepend(this.tool);
  }

  // The tool forced for the message being sent ('' for none); the choice lasts one message.
  takeTool() {
    const name = this.tool?.value || '';
    if (this.tool) this.tool.value = '';
    return name;
  }

  setStreaming(streaming) {
    const hadFocus = document.activeElement === this.stop || document.activeElement === this.send;
    this.streaming = streaming;
    this.send.hidden = streaming;
    this.stop.hidden = !streaming;
    if (hadFocus) (streaming ? this.stop : this.area).focus();
    this.updateButtons();
  }

  updateButtons() {
    this.send.disabled = this.streaming;
  }

  text() {
    return this.area.value;
  }

  setText(text) {
    this.area.value = text;
    this.resize();
  }

  resize() {
    this.area.style.height = 'auto';
    this.area.style.height = `${Math.min(this.area.scrollHeight, MAX_HEIGHT)}px`;
  }

  focus() {
    this.area.focus({ preventScroll: true });
  }
}
