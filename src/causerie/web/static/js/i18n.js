// Translations: one JSON dictionary per language in /static/i18n/ (en and fr share their
// keys; a test checks it). The language follows the browser unless the user picks one.

export const LANGUAGES = ['en', 'fr'];
let lang = 'en';
let dict = {};
let fallback = {};
const listeners = new Set();

export function browserLanguage() {
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

export function resolveLanguage(preference) {
  return LANGUAGES.includes(preference) ? preference : browserLanguage();
}

async function load(code) {
  const response = await fetch(`/static/i18n/${code}.json`, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`cannot load the ${code} translations`);
  return response.json();
}

export async function setLanguage(preference) {
  const code = resolveLanguage(preference);
  if (!Object.keys(fallback).length) fallback = await load('en');
  dict = code === 'en' ? fallback : await load(code);
  const changed = code !== lang;
  lang = code;
  document.documentElement.lang = code;
  if (changed) listeners.forEach((fn) => fn(code));
  return code;
}

export function onLanguageChange(fn) {
  listeners.add(fn);
}

export function language() {
  return lang;
}

// t("some.key", {name: "x"}) fills {name}; a `count` var picks `…_one` / `…_other`.
export function t(key, vars = {}) {
  let found = key;
  if (typeof vars.count === 'number') {
    const form = new Intl.PluralRules(lang).select(vars.count);
    found = `${key}_${form === 'one' ? 'one' : 'other'}`;
  }
  const template = dict[found] ?? fallback[found] ?? dict[key] ?? fallback[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) =>
    name in vars ? formatValue(vars[name]) : `{${name}}`,
  );
}

function formatValue(value) {
  return typeof value === 'number' ? formatNumber(value) : String(value);
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(lang, options).format(value);
}

export function formatDate(value, options = { dateStyle: 'medium' }) {
  return new Intl.DateTimeFormat(lang, options).format(new Date(value));
}
