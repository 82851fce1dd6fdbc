// Modal dialogs on the native <dialog> element: focus is trapped, Esc closes, the page
// behind is inert. confirmDialog() resolves to true or false.

import { h, nextId } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';

export function openDialog({ title, body, actions = null, className = '', onClose = null }) {
  const titleId = nextId('dialog-title');
  const close = h(
    'button',
    { type: 'button', class: 'icon-button', 'aria-label': t('common.close') },
    icon('close'),
  );
  const dialog = h(
    'dialog',
    { class: `dialog ${className}`.trim(), 'aria-labelledby': titleId },
    h(
      'div',
      { class: 'dialog__panel' },
      h('header', { class: 'dialog__head' }, h('h2', { id: titleId, text: title }), close),
      h('div', { class: 'dialog__body' }, body),
      actions ? h('footer', { class: 'dialog__actions' }, actions) : null,
    ),
  );
  close.addEventListener('click', () => dialog.close('cancel'));
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close('cancel'); // a click on the backdrop
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (onClose) onClose(dialog.returnValue);
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

export function confirmDialog({ title, message, confirm, danger = false }) {
  return new Promise((resolve) => {
    const cancelButton = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
    const okButton = h('button', {
      type: 'button',
      class: danger ? 'button button--danger' : 'button button--primary',
      text: confirm,
    });
    const dialog = openDialog({
      title,
      body: h('p', { class: 'dialog__message', text: message }),
      actions: [cancelButton, okButton],
      className: 'dialog--small',
      onClose: (value) => resolve(value === 'ok'),
    });
    cancelButton.addEventListener('click', () => dialog.close('cancel'));
    okButton.addEventListener('click', () => dialog.close('ok'));
    okButton.focus();
  });
}

export function anyDialogOpen() {
  return document.querySelector('dialog[open]') !== null;
}
