// Light, dark or the system's choice. The chosen name is cached in localStorage (it is no
// credential) so that boot-theme.js can apply it before the first paint.

const media = window.matchMedia('(prefers-color-scheme: dark)');
let preference = 'system';

export function currentTheme() {
  return preference;
}

export function applyTheme(choice) {
  preference = ['light', 'dark'].includes(choice) ? choice : 'system';
  try {
    localStorage.setItem('causerie.theme', preference);
  } catch {
    /* storage unavailable: the theme still applies to this page */
  }
  render();
}

function render() {
  const dark = preference === 'dark' || (preference === 'system' && media.matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  const light = document.getElementById('hljs-light');
  const darkSheet = document.getElementById('hljs-dark');
  if (light) light.disabled = dark;
  if (darkSheet) darkSheet.disabled = !dark;
}

media.addEventListener('change', () => {
  if (preference === 'system') render();
});
