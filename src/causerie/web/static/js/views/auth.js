// The account screens: first-run administrator setup, login and sign-up.

import { h, clear } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { login, signup } from '../session.js';

// mode: 'setup' | 'login' | 'signup'; onDone(user) runs after a successful submit.
export function renderAuth(root, { mode, signupOpen, onDone, onSwitch }) {
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const fields = [];
  if (mode !== 'login') fields.push(field('name', t('auth.name'), 'text', 'name', false));
  fields.push(field('email', t('auth.email'), 'email', 'email', true));
  fields.push(
    field('password', t('auth.password'), 'password',
      mode === 'login' ? 'current-password' : 'new-password', true),
  );
  const submit = h('button', {
    type: 'submit',
    class: 'button button--primary button--block',
    text: t(`auth.${mode}.submit`),
  });
  const form = h('form', { class: 'auth__form', novalidate: true }, fields, error, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const email = String(data.get('email') || '').trim();
    const password = String(data.get('password') || '');
    if (!email || !password) {
      showError(error, t('auth.missing'));
      return;
    }
    submit.disabled = true;
    try {
      const user =
        mode === 'login'
          ? await login(email, password)
          : await signup(email, password, String(data.get('name') || '').trim());
      onDone(user);
    } catch (failure) {
      showError(error, failure.message || t('errors.generic'));
      submit.disabled = false;
    }
  });

  let footer = null;
  if (mode === 'login' && signupOpen) {
    footer = switchLink(t('auth.noAccount'), t('auth.signup.link'), () => onSwitch('signup'));
  } else if (mode === 'signup') {
    footer = switchLink(t('auth.haveAccount'), t('auth.login.link'), () => onSwitch('login'));
  }

  clear(root).append(
    h(
      'main',
      { class: 'auth' },
      h(
        'section',
        { class: 'auth__card', 'aria-labelledby': 'auth-title' },
        h('div', { class: 'auth__brand' }, icon('logo', 'auth__logo'), h('span', { text: 'Causerie' })),
        h('h1', { id: 'auth-title', text: t(`auth.${mode}.title`) }),
        h('p', { class: 'auth__lead', text: t(`auth.${mode}.lead`) }),
        form,
        footer,
      ),
    ),
  );
  form.querySelector('input')?.focus();
}

function field(name, label, type, autocomplete, required) {
  const id = `auth-${name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id, text: label }),
    h('input', { id, name, type, autocomplete, required, class: 'input', spellcheck: 'false' }),
  );
}

function switchLink(text, action, onClick) {
  const link = h('button', { type: 'button', class: 'link-button', text: action });
  link.addEventListener('click', onClick);
  return h('p', { class: 'auth__switch' }, `${text} `, link);
}

function showError(el, message) {
  el.textContent = message;
  el.hidden = false;
}
