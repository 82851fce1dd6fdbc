// Brief notices in a polite live region ("Copied", "Saved", an error that has no place).

import { h } from '../dom.js';

export function toast(message, kind = 'info') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const note = h('div', { class: `toast toast--${kind}`, text: message });
  region.append(note);
  setTimeout(() => note.classList.add('is-leaving'), 3500);
  setTimeout(() => note.remove(), 4000);
}
