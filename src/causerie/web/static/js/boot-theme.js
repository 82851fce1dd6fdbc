// Runs before the first paint (a classic script, not inline: the CSP forbids inline code).
// It applies the last theme this browser used, so that a dark page never flashes white.
// Only the theme name is cached here; no credential is ever kept in web storage.
(function () {
  var theme = 'system';
  try { theme = localStorage.getItem('causerie.theme') || 'system'; } catch (e) { /* private mode */ }
  var dark = theme === 'dark' ||
    (theme === 'system' && window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
})();
