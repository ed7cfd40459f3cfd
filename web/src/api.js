// The API client: the bearer token lives in memory and sessionStorage (never
// localStorage), errors become readable messages from SPEC section 6's shape,
// and a 401 sends the user back to the sign-in page.
import { signal } from './state.js';
import { t } from './i18n.js';

const KEY = 'nv_token';
export const session = signal(null);	// { token } or null
export const notice = signal(null);	// why the user is back at sign-in
let tokenProvider = null;		// Clerk mode: a fresh token per call

try {
  const tok = sessionStorage.getItem(KEY);
  if (tok) session.value = { token: tok };
} catch { /* storage off */ }

// Clerk mode (a token provider) keeps no token: only a flag, so that a
// reload signs in again through Clerk's own session.
export function signIn(token, provider = null) {
  tokenProvider = provider;
  notice.value = null;
  try {
    if (provider) sessionStorage.setItem('nv_mode', 'clerk'); else sessionStorage.setItem(KEY, token);
  } catch { /* storage off */ }
  session.value = { token, clerk: !!provider };
}

export function signOut() {
  const wasClerk = !!tokenProvider;
  tokenProvider = null;
  try { sessionStorage.removeItem(KEY); sessionStorage.removeItem('nv_mode'); } catch { /* storage off */ }
  session.value = null;
  if (wasClerk) import('./clerk.js').then((c) => c.clerkSignOut()).catch(() => {});
}

export function clerkMode() {
  try { return sessionStorage.getItem('nv_mode') === 'clerk'; } catch { return false; }
}

export class ApiError extends Error {
  constructor(status, message, details = [], code = '') {
    super(message);
    this.status = status;
    this.details = details;
    this.code = code;
  }

  // "message: field issue; field issue"
  get text() {
    const d = (this.details || []).map((x) => [x.field, x.issue].filter(Boolean).join(' ')).join('; ');
    return d ? `${this.message}: ${d}` : this.message;
  }
}

// The message of a SPEC section 6 error body, or null.
function data401(text) {
  try { return JSON.parse(text).error.message || null; } catch { return null; }
}

async function bearer() {
  if (tokenProvider) return await tokenProvider();
  return session.value?.token;
}

// fetch + JSON; throws ApiError.  opts.raw returns the Response.
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const tok = opts.anonymous ? null : await bearer();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, t('errNetwork'));
  }
  if (res.status === 401 && !opts.anonymous) {
    const e = data401(await res.text());
    notice.value = e ? `${t('err401')} (${e})` : t('err401');
    signOut();
    throw new ApiError(401, t('err401'));
  }
  if (opts.raw && res.ok) return res;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = data && data.error;
    throw new ApiError(res.status, (e && e.message) || `HTTP ${res.status}`, (e && e.details) || [], e && e.code);
  }
  return data;
}

export const get = (p, o) => api('GET', p, undefined, o);
export const post = (p, b, o) => api('POST', p, b, o);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}
