// Sign-in: a pasted dev token always works (SPEC section 8); the demo users
// appear when the stack has dev login on (make run); Clerk's sign-in when a
// publishable key is configured.  GET /api/config says which.
import { useEffect, useRef, useState } from 'preact/hooks';
import { clerkMode, get, notice, post, signIn } from '../api.js';
import { useSignal } from '../state.js';
import { lang, setLang, t } from '../i18n.js';
import { navigate } from '../router.js';
import { ErrorBox } from '../ui.jsx';

function next() {
  const n = new URLSearchParams(location.search).get('next');
  return n && n.startsWith('/') && !n.startsWith('//') ? n : '/';
}

export function SignIn() {
  const [cfg, setCfg] = useState(null);
  const [users, setUsers] = useState([]);
  const [token, setToken] = useState('');
  const [err, setErr] = useState(null);
  const clerkEl = useRef(null);
  const why = useSignal(notice);

  useEffect(() => {
    get('/api/config', { anonymous: true }).then((c) => {
      setCfg(c);
      if (c.clerk_publishable_key && clerkMode()) clerk(c.clerk_publishable_key);
      if (c.dev_login) get('/api/dev/users', { anonymous: true }).then((r) => setUsers(r.data), setErr);
    }, () => setCfg({ dev_login: false, clerk_publishable_key: null }));
  }, []);

  const done = (tok, provider) => { signIn(tok, provider); navigate(next(), true); };

  const usePasted = (e) => {
    e.preventDefault();
    const tok = token.trim().replace(/^Bearer\s+/i, '');
    if (tok) done(tok);
  };

  const asUser = async (u) => {
    setErr(null);
    try {
      const r = await post('/api/dev/token', { clerk_user_id: u.clerk_user_id, clerk_org_id: u.clerk_org_id }, { anonymous: true });
      done(r.token);
    } catch (e2) { setErr(e2); }
  };

  const clerk = async (pk) => {
    setErr(null);
    try {
      const { clerkSignIn } = await import('../clerk.js');
      await clerkSignIn(pk, clerkEl.current, done);
    } catch (e2) { setErr(e2); }
  };

  return (
    <main id="main" class="signin">
      <div class="signin-head">
        <h1>{t('appName')}</h1>
        <label>
          <span class="sr">{t('language')}</span>
          <select value={lang.value} onChange={(e) => setLang(e.currentTarget.value)} aria-label={t('language')}>
            <option value="nb">Norsk</option>
            <option value="en">English</option>
          </select>
        </label>
      </div>
      {why && <p class="error" role="alert">{why}</p>}
      <ErrorBox error={err} />
      {cfg && cfg.clerk_publishable_key && (
        <section class="card">
          <button type="button" onClick={() => clerk(cfg.clerk_publishable_key)}>{t('clerkSignIn')}</button>
          <div ref={clerkEl} />
        </section>
      )}
      {users.length > 0 && (
        <section class="card" aria-labelledby="demo-h">
          <h2 id="demo-h">{t('demoUsers')}</h2>
          <ul class="demo-users">
            {users.map((u) => (
              <li key={`${u.clerk_user_id}/${u.clerk_org_id}`}>
                <button type="button" onClick={() => asUser(u)} data-user={u.clerk_user_id}>
                  {t('signInAs')} {u.clerk_user_id}
                </button>
                <span class="muted"> {u.dealership} · {t(`role_${u.role}`)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section class="card" aria-labelledby="tok-h">
        <h2 id="tok-h">{t('pasteToken')}</h2>
        <form onSubmit={usePasted}>
          <label class="field">
            <span>{t('token')}</span>
            <textarea id="token" name="token" rows={4} value={token} autocomplete="off" spellcheck={false}
              onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
          <button type="submit">{t('useToken')}</button>
        </form>
        <p class="muted"><code>make token USER=user_tesla_rep</code></p>
      </section>
      <p><a href="/api/docs">{t('apiDocs')}</a></p>
    </main>
  );
}
