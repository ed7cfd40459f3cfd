// History-API routing over a handful of paths; nginx serves index.html for
// each of them (nginx/norvalt.conf).
import { signal } from './state.js';

export const route = signal(location.pathname + location.search);

export function navigate(to, replace = false) {
  if (to === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', to);
  route.value = to;
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => { route.value = location.pathname + location.search; });

// Plain left clicks on same-origin links navigate without a reload.
export function onLinkClick(e) {
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || e.defaultPrevented || e.button !== 0 ||
      e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}
