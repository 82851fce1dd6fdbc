// Who is logged in. The session cookie is HttpOnly (invisible to scripts); the CSRF token
// from login, sign-up or /me stays in memory, in api.js.

import { api, setCsrf } from './api.js';

export const session = { user: null, settings: null };

function adopt(body) {
  session.user = body.user;
  setCsrf(body.csrf_token);
  return body.user;
}

export async function restore() {
  try {
    return adopt(await api.get('/api/auth/me', { quiet: true }));
  } catch (error) {
    if (error.status === 401 || error.status === 403) return null;
    throw error;
  }
}

export async function authStatus() {
  return api.get('/api/auth/status', { quiet: true });
}

export async function login(email, password) {
  return adopt(await api.post('/api/auth/login', { email, password }, { quiet: true }));
}

export async function signup(email, password, name) {
  return adopt(await api.post('/api/auth/signup', { email, password, name }, { quiet: true }));
}

export async function logout() {
  try {
    await api.post('/api/auth/logout', {}, { quiet: true });
  } finally {
    session.user = null;
    session.settings = null;
    setCsrf(null);
  }
}

export async function changePassword(currentPassword, newPassword) {
  return adopt(
    await api.post('/api/auth/password', {
      current_password: currentPassword,
      new_password: newPassword,
    }),
  );
}

export function isAdmin() {
  return session.user?.role === 'admin';
}
