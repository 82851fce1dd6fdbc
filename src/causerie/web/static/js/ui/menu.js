// A small pop-up menu anchored to a button: arrow keys move, Enter picks, Esc or a click
// elsewhere closes it and gives focus back to the button.

import { h } from '../dom.js';
import { icon } from '../icons.js';

let openMenuState = null;

export function closeMenu() {
  if (!openMenuState) return;
  const { menu, anchor, onDocDown } = openMenuState;
  openMenuState = null;
  document.removeEventListener('pointerdown', onDocDown, true);
  anchor.setAttribute('aria-expanded', 'false');
  menu.remove();
}

export function openMenu(anchor, items, { label = '' } = {}) {
  closeMenu();
  const buttons = items.map((item) => {
    const button = h(
      'button',
      {
        type: 'button',
        role: 'menuitem',
        class: item.danger ? 'menu__item menu__item--danger' : 'menu__item',
      },
      item.icon ? icon(item.icon) : null,
      h('span', { text: item.label }),
    );
    button.addEventListener('click', () => {
      closeMenu();
      anchor.focus();
      item.onSelect();
    });
    return button;
  });
  const menu = h('div', { class: 'menu', role: 'menu', 'aria-label': label }, buttons);
  menu.addEventListener('keydown', (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      buttons[(index + step + buttons.length) % buttons.length].focus();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeMenu();
      anchor.focus();
    } else if (event.key === 'Tab') {
      closeMenu();
    }
  });
  document.body.append(menu);
  place(menu, anchor);
  const onDocDown = (event) => {
    if (!menu.contains(event.target) && !anchor.contains(event.target)) closeMenu();
  };
  document.addEventListener('pointerdown', onDocDown, true);
  anchor.setAttribute('aria-expanded', 'true');
  openMenuState = { menu, anchor, onDocDown };
  buttons[0]?.focus();
}

function place(menu, anchor) {
  const box = anchor.getBoundingClientRect();
  const width = menu.offsetWidth;
  const height = menu.offsetHeight;
  let left = Math.min(box.left, window.innerWidth - width - 8);
  let top = box.bottom + 4;
  if (top + height > window.innerHeight - 8) top = Math.max(8, box.top - height - 4);
  left = Math.max(8, left);
  menu.style.left = `${left}px`;
  menu.style.top = `${top}px`;
}
