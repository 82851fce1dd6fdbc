// The administrator's page: open or close sign-up, users (create, role, disable) and the
// usage of each user and model over a chosen period.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t, formatDate, formatNumber } from '../i18n.js';
import { api, query } from '../api.js';
import { toast } from '../ui/toast.js';
import { session } from '../session.js';

export class AdminView {
  constructor({ onToggleSidebar }) {
    const toggle = h('button', { type: 'button', class: 'icon-button topbar__toggle', 'aria-label': t('sidebar.open'), title: t('sidebar.open') }, icon('panel'));
    toggle.addEventListener('click', onToggleSidebar);
    this.signup = h('input', { id: 'admin-signup', type: 'checkbox', class: 'switch' });
    this.signup.addEventListener('change', () => this.setSignup(this.signup.checked));
    this.users = h('tbody');
    this.usage = h('tbody');
    this.days = h('select', { id: 'usage-days', class: 'input input--inline' },
      [1, 7, 30, 90].map((d) => h('option', { value: d, text: t('admin.usage.days', { count: d }) })));
    this.days.value = '30';
    this.days.addEventListener('change', () => this.loadUsage());

    this.el = h('section', { class: 'admin', 'aria-labelledby': 'admin-title' },
      h('header', { class: 'topbar' }, toggle, h('h1', { id: 'admin-title', class: 'topbar__title topbar__title--page', text: t('admin.title') })),
      h('div', { class: 'admin__scroll' },
        h('div', { class: 'admin__inner' },
          this.card(t('admin.signup.title'),
            h('div', { class: 'check check--switch' }, this.signup, h('label', { for: 'admin-signup', text: t('admin.signup.label') })),
            h('p', { class: 'field__hint', text: t('admin.signup.hint') })),
          this.card(t('admin.users.title'),
            h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
              h('thead', {}, h('tr', {},
                [t('auth.name'), t('auth.email'), t('admin.role'), t('admin.active'), t('admin.created')].map((c) => h('th', { scope: 'col', text: c })))),
              this.users))),
          this.card(t('admin.create.title'), this.createForm()),
          this.card(t('admin.usage.title'),
            h('div', { class: 'inline-form' }, h('label', { for: 'usage-days', text: t('admin.usage.period') }), this.days),
            h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
              h('thead', {}, h('tr', {},
                [t('admin.usage.user'), t('chat.model'), t('admin.usage.requests'), t('admin.usage.prompt'), t('admin.usage.completion'), t('admin.usage.total')]
                  .map((c, i) => h('th', { scope: 'col', class: i > 1 ? 'num' : '', text: c })))),
              this.usage))))));
    this.load();
  }

  card(title, ...children) {
    return h('section', { class: 'card' }, h('h2', { class: 'card__title', text: title }), children);
  }

  async load() {
    try {
      const settings = await api.get('/api/admin/settings');
      this.signup.checked = settings.signup_open;
    } catch (error) {
      toast(error.message, 'error');
    }
    await Promise.all([this.loadUsers(), this.loadUsage()]);
  }

  async setSignup(open) {
    try {
      await api.patch('/api/admin/settings', { signup_open: open });
      toast(open ? t('admin.signup.opened') : t('admin.signup.closed'));
    } catch (error) {
      this.signup.checked = !open;
      toast(error.message, 'error');
    }
  }

  async loadUsers() {
    let users;
    try {
      users = (await api.get('/api/admin/users?limit=1000')).data;
    } catch (error) {
      toast(error.message, 'error');
      return;
    }
    this.users.replaceChildren(...users.map((user) => this.userRow(user)));
  }

  userRow(user) {
    const self = user.id === session.user?.id;
    const role = h('select', { class: 'input input--inline', 'aria-label': t('admin.roleOf', { email: user.email }), disabled: self },
      ['user', 'admin'].map((r) => h('option', { value: r, text: t(`admin.roles.${r}`) })));
    role.value = user.role;
    role.addEventListener('change', () => this.updateUser(user, { role: role.value }, () => { role.value = user.role; }));
    const active = h('input', { type: 'checkbox', class: 'switch', checked: user.is_active, disabled: self, 'aria-label': t('admin.activeOf', { email: user.email }) });
    active.addEventListener('change', () => this.updateUser(user, { is_active: active.checked }, () => { active.checked = user.is_active; }));
    return h('tr', { dataset: { email: user.email } },
      h('td', { text: user.name || '—' }),
      h('td', { class: 'mono', text: user.email }),
      h('td', {}, role),
      h('td', {}, active),
      h('td', { text: formatDate(user.created_at) }));
  }

  async updateUser(user, changes, undo) {
    try {
      Object.assign(user, await api.patch(`/api/admin/users/${user.id}`, changes));
      toast(t('common.saved'));
    } catch (error) {
      undo();
      toast(error.message, 'error');
    }
  }

  createForm() {
    const field = (id, label, type, extra = {}) => h('div', { class: 'field' },
      h('label', { for: id, text: label }), h('input', { id, name: id, type, class: 'input', ...extra }));
    const role = h('select', { id: 'new-role', name: 'new-role', class: 'input' },
      ['user', 'admin'].map((r) => h('option', { value: r, text: t(`admin.roles.${r}`) })));
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'button button--primary' }, icon('plus'), h('span', { text: t('admin.create.submit') }));
    const form = h('form', { class: 'grid-form' },
      field('new-name', t('auth.name'), 'text', { autocomplete: 'off' }),
      field('new-email', t('auth.email'), 'email', { autocomplete: 'off', required: true }),
      field('new-password', t('auth.password'), 'password', { autocomplete: 'new-password', required: true }),
      h('div', { class: 'field' }, h('label', { for: 'new-role', text: t('admin.role') }), role),
      error,
      h('div', { class: 'form-actions' }, submit));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      error.hidden = true;
      submit.disabled = true;
      try {
        await api.post('/api/admin/users', {
          name: String(data.get('new-name') || '').trim(),
          email: String(data.get('new-email') || '').trim(),
          password: String(data.get('new-password') || ''),
          role: role.value,
        });
        form.reset();
        toast(t('admin.create.done'));
        await this.loadUsers();
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  async loadUsage() {
    let rows;
    try {
      rows = (await api.get(`/api/admin/usage${query({ days: this.days.value })}`)).data;
    } catch (error) {
      toast(error.message, 'error');
      return;
    }
    const totals = new Map();
    for (const row of rows) {
      const key = `${row.email}\u0000${row.model}`;
      const sum = totals.get(key) || { email: row.email, model: row.model, requests: 0, prompt: 0, completion: 0 };
      sum.requests += row.requests;
      sum.prompt += row.prompt_tokens;
      sum.completion += row.completion_tokens;
      totals.set(key, sum);
    }
    const sorted = Array.from(totals.values()).sort((a, b) => (b.prompt + b.completion) - (a.prompt + a.completion));
    this.usage.replaceChildren(...sorted.map((s) => h('tr', {},
      h('td', { class: 'mono', text: s.email }),
      h('td', { class: 'mono', text: s.model }),
      h('td', { class: 'num', text: formatNumber(s.requests) }),
      h('td', { class: 'num', text: formatNumber(s.prompt) }),
      h('td', { class: 'num', text: formatNumber(s.completion) }),
      h('td', { class: 'num', text: formatNumber(s.prompt + s.completion) }))));
    if (!sorted.length) {
      this.usage.append(h('tr', {}, h('td', { colspan: 6, class: 'muted', text: t('admin.usage.none') })));
    }
  }
}
