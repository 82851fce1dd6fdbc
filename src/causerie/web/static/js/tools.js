// The chat tools the server offers ({name, title, description}), fetched once per page;
// toolTitle() gives a tool's translated name (its own name when no translation exists).

import { api } from './api.js';
import { t } from './i18n.js';

let cached = null;

export function chatTools() {
  if (!cached) {
    cached = api.get('/api/tools').then((page) => page.data || []).catch((error) => {
      cached = null;
      throw error;
    });
  }
  return cached;
}

export function toolTitle(name) {
  const key = `tools.${name}`;
  const text = t(key);
  return text === key ? String(name || '') : text;
}
