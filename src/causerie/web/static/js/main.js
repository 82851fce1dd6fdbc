// Boots the UI: language and theme first, then the session. Signed out, it shows the
// first-run setup, login or sign-up; signed in, the app shell on the current route.

import { setLanguage, onLanguageChange } from './i18n.js';
import { applyTheme } from './theme.js';
import { api, whenUnauthorized } from './api.js';
import { current, navigate, onRoute } from './router.js';
import { session, restore, authStatus, logout } from './session.js';
import { renderAuth } from './views/auth.js';
import { Shell } from './views/shell.js';
import { loadSettings } from './views/settings.js';
import { toast } from './ui/toast.js';
import { stopAllRuns } from './runs.js';

const root = document.getElementById('app');
let shell = null;
let models = [];

async function boot() {
  const cached = (() => {
    try {
      return localStorage.getItem('causerie.theme');
    } catch {
      return null;
    }
  })();
  applyTheme(cached || 'system');
  await setLanguage('auto');
  whenUnauthorized(() => {
    if (session.user) {
      session.user = null;
      showSignedOut('login');
    }
  });
  onRoute((route) => {
    if (session.user && shell) {
      if (['login', 'signup', 'setup'].includes(route.name)) navigate('/', { replace: true });
      else shell.show(route);
    } else if (!session.user && ['login', 'signup'].includes(route.name)) {
      showSignedOut(route.name);
    }
  });
  onLanguageChange(() => {
    if (shell) startShell();
  });
  try {
    if (await restore()) {
      await enterApp();
      return;
    }
  } catch (error) {
    toast(error.message, 'error');
  }
  const wanted = current().name;
  await showSignedOut(wanted === 'signup' ? 'signup' : 'login');
}

async function showSignedOut(mode) {
  if (shell) {
    shell.destroy();
    shell = null;
  }
  let status = { needs_setup: false, signup_open: false };
  try {
    status = await authStatus();
  } catch {
    /* the form still works; the server will say what is wrong */
  }
  let chosen = status.needs_setup ? 'setup' : mode;
  if (chosen === 'signup' && !status.signup_open) chosen = 'login';
  navigate(`/${chosen}`, { replace: true, silent: true });
  root.classList.remove('app--loading');
  root.removeAttribute('aria-busy');
  renderAuth(root, {
    mode: chosen,
    signupOpen: status.signup_open,
    onDone: () => enterApp(),
    onSwitch: (next) => {
      navigate(`/${next}`, { silent: true });
      showSignedOut(next);
    },
  });
}

async function enterApp() {
  try {
    session.settings = await loadSettings();
  } catch {
    session.settings = null;
  }
  const prefs = session.settings?.preferences || {};
  applyTheme(prefs.theme || 'system');
  await setLanguage(prefs.language || 'auto');
  try {
    models = (await api.get('/v1/models')).data || [];
  } catch {
    models = [];
  }
  if (['login', 'signup', 'setup'].includes(current().name)) navigate('/', { replace: true, silent: true });
  startShell();
}

function startShell() {
  if (shell) shell.destroy();
  shell = new Shell(root, {
    models,
    onTheme: (theme) => applyTheme(theme),
    onLanguage: (lang) => setLanguage(lang),
    onLogout: async () => {
      stopAllRuns();
      await logout();
      showSignedOut('login');
    },
  });
  shell.show(current());
}

boot();
