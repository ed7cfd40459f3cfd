// The Norvalt dashboard: sign-in, inbox, lead page, vehicles, settings and
// metrics (SPEC section 8).  Preact, no state library, no CDN.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { get, session, signOut } from './api.js';
import { lang, setLang, t } from './i18n.js';
import { navigate, onLinkClick, route } from './router.js';
import { useSignal } from './state.js';
import { SignIn } from './pages/SignIn.jsx';
import { Inbox } from './pages/Inbox.jsx';
import { Lead } from './pages/Lead.jsx';
import { Vehicles } from './pages/Vehicles.jsx';
import { Settings } from './pages/Settings.jsx';
import { Metrics } from './pages/Metrics.jsx';
import { ErrorBox } from './ui.jsx';

// Clerk's organisation switcher, in Clerk mode only (the chunk is loaded then).
function OrgSwitcher() {
  const el = useRef(null);
  useEffect(() => {
    let undo = () => {};
    import('./clerk.js').then((c) => { undo = c.mountOrgSwitcher(el.current); });
    return () => undo();
  }, []);
  return <div ref={el} class="org-switcher" />;
}

function Nav({ me }) {
  const r = useSignal(route);
  const s = useSignal(session);
  const manager = me && me.user.role !== 'sales_rep';
  const link = (href, label, match) => (
    <a href={href} aria-current={match(r) ? 'page' : undefined}>{label}</a>
  );
  return (
    <header class="top">
      <a class="skip" href="#main">{t('skipTo')}</a>
      <div class="brand">
        <strong>{t('appName')}</strong>
        {me && <span class="who" data-testid="who">{me.dealership.name} · {me.user.name} ({t(`role_${me.user.role}`)})</span>}
      </div>
      <nav aria-label={t('menu')}>
        {link('/', t('inbox'), (x) => x === '/' || x.startsWith('/leads') || x.startsWith('/?'))}
        {link('/vehicles', t('vehicles'), (x) => x.startsWith('/vehicles'))}
        {manager && link('/settings', t('settings'), (x) => x.startsWith('/settings'))}
        {link('/metrics', t('metrics'), (x) => x.startsWith('/metrics'))}
        <a href="/api/docs" target="_blank" rel="noopener">{t('apiDocs')}</a>
      </nav>
      <div class="tools">
        {s && s.clerk && <OrgSwitcher />}
        <label class="lang">
          <span class="sr">{t('language')}</span>
          <select value={lang.value} onChange={(e) => setLang(e.currentTarget.value)} aria-label={t('language')}>
            <option value="nb">Norsk</option>
            <option value="en">English</option>
          </select>
        </label>
        <button type="button" class="link" onClick={() => { signOut(); navigate('/signin'); }}>{t('signOut')}</button>
      </div>
    </header>
  );
}

function Page({ me }) {
  const r = useSignal(route);
  const path = r.split('?')[0];
  const m = path.match(/^\/leads\/([0-9a-fA-F-]{36})$/);
  if (m) return <Lead id={m[1]} me={me} key={m[1]} />;
  if (path === '/vehicles') return <Vehicles me={me} />;
  if (path === '/settings') return <Settings me={me} />;
  if (path === '/metrics') return <Metrics me={me} />;
  return <Inbox me={me} />;
}

function App() {
  const s = useSignal(session);
  useSignal(lang);
  useSignal(route);
  const [me, setMe] = useState(null);
  const [err, setErr] = useState(null);

  useEffect(() => {
    setMe(null);
    setErr(null);
    if (!s) {
      if (!location.pathname.startsWith('/signin')) {
        const back = location.pathname + location.search;
        navigate(`/signin${back !== '/' ? `?next=${encodeURIComponent(back)}` : ''}`, true);
      }
      return;
    }
    get('/api/me').then(setMe, setErr);
  }, [s]);

  if (!s || location.pathname.startsWith('/signin')) return <SignIn />;
  return (
    <div onClick={onLinkClick}>
      <Nav me={me} />
      <main id="main" tabIndex={-1}>
        {err && <ErrorBox error={err} />}
        {!me && !err && <p aria-live="polite">{t('loading')}</p>}
        {me && <Page me={me} />}
      </main>
    </div>
  );
}

document.documentElement.lang = lang.value;
render(<App />, document.getElementById('app'));
