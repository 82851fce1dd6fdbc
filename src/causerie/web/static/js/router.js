// Client-side routes on real paths (the server answers index.html for each of them):
//   /           a new chat          /c/{id}   a conversation
//   /admin      administration      /login, /signup, /setup   account screens

const listeners = new Set();

export function parse(pathname = location.pathname) {
  const match = pathname.match(/^\/c\/([A-Za-z0-9_-]+)\/?$/);
  if (match) return { name: 'chat', id: match[1] };
  if (pathname === '/admin') return { name: 'admin' };
  if (pathname === '/login') return { name: 'login' };
  if (pathname === '/signup') return { name: 'signup' };
  if (pathname === '/setup') return { name: 'setup' };
  return { name: 'new' };
}

export function current() {
  return parse(location.pathname);
}

// navigate('/c/abc'); {replace} swaps the history entry; {silent} does not re-route.
export function navigate(path, { replace = false, silent = false } = {}) {
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  if (!silent) listeners.forEach((fn) => fn(parse(path)));
}

export function onRoute(fn) {
  listeners.add(fn);
}

window.addEventListener('popstate', () => listeners.forEach((fn) => fn(current())));
