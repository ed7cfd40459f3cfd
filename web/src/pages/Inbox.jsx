// The inbox: GET /api/leads with every filter of SPEC section 6, keyset
// "load more" through next_cursor, and polling every 5 s that prepends new
// leads without a reload.  Filters live in the URL (?status=...), so a
// filtered view can be bookmarked and the back button works.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, qs } from '../api.js';
import { fullName, dateTime, osloMidnight, speedToLead } from '../format.js';
import { t } from '../i18n.js';
import { navigate, route } from '../router.js';
import { useSignal } from '../state.js';
import { isUnread, needsAttention } from '../seen.js';
import { Badge, ErrorBox, Select, sourceOptions, statusOptions } from '../ui.jsx';

const POLL_MS = 5000;
const FILTERS = ['status', 'source', 'assigned_to', 'q', 'from', 'to'];

function readFilters() {
  const u = new URLSearchParams(location.search);
  const f = {};
  for (const k of FILTERS) f[k] = u.get(k) || '';
  return f;
}

function apiParams(f) {
  return {
    status: f.status, source: f.source, assigned_to: f.assigned_to, q: f.q.trim(),
    created_after: f.from ? osloMidnight(f.from) : '',
    created_before: f.to ? osloMidnight(f.to, 1) : '',
  };
}

export function LeadRow({ lead, users, fresh }) {
  const stl = speedToLead(lead);
  const unread = isUnread(lead);
  const attention = needsAttention(lead);
  const who = lead.assigned_to && users[lead.assigned_to];
  return (
    <li class={`lead ${unread ? 'is-unread' : ''} ${fresh ? 'is-fresh' : ''}`} data-lead-id={lead.id}>
      <a href={`/leads/${lead.id}`}>
        <span class="lead-name">
          {unread && <span class="dot" aria-label={t('unread')} title={t('unread')} />}
          {fullName(lead)}
        </span>
        <span class="lead-meta">
          <Badge kind={`st-${lead.status}`}>{t(`s_${lead.status}`)}</Badge>
          <Badge>{t(`src_${lead.source}`)}</Badge>
          {attention && <Badge kind="warn">{t('attention')}</Badge>}
        </span>
        <span class="lead-interest">{lead.vehicle_interest || lead.message || ''}</span>
        <span class="lead-foot">
          <time dateTime={lead.created_at}>{dateTime(lead.created_at)}</time>
          <span class={`stl ${stl.answered ? 'ok' : 'waiting'}`} data-testid="stl">{stl.text}</span>
          {who && <span class="muted">{who}</span>}
        </span>
      </a>
    </li>
  );
}

export function Inbox({ me }) {
  const r = useSignal(route);
  const f = readFilters();
  const key = JSON.stringify(f);
  const [leads, setLeads] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [loading, setLoading] = useState(true);
  const [err, setErr] = useState(null);
  const [fresh, setFresh] = useState({});
  const [users, setUsers] = useState({});
  const [q, setQ] = useState(f.q);
  const known = useRef(new Set());
  const manager = me.user.role !== 'sales_rep';

  useEffect(() => {
    const m = { [me.user.id]: me.user.name };
    if (!manager) { setUsers(m); return; }
    get('/api/users').then((u) => {
      for (const x of u.data || []) m[x.id] = x.name || x.email;
      setUsers({ ...m });
    }, () => setUsers(m));
  }, [me.user.id]);

  useEffect(() => {
    let stop = false;
    setLoading(true);
    setErr(null);
    setQ(f.q);
    get(`/api/leads${qs({ ...apiParams(f), limit: 25 })}`).then((p) => {
      if (stop) return;
      known.current = new Set(p.data.map((l) => l.id));
      setLeads(p.data);
      setCursor(p.next_cursor);
      setFresh({});
      setLoading(false);
    }, (e) => { if (!stop) { setErr(e); setLoading(false); } });
    // Poll the first page; new ids go on top, changed ones are updated.
    const timer = setInterval(async () => {
      if (document.hidden) return;
      try {
        const p = await get(`/api/leads${qs({ ...apiParams(f), limit: 25 })}`);
        if (stop) return;
        const add = p.data.filter((l) => !known.current.has(l.id));
        const byId = Object.fromEntries(p.data.map((l) => [l.id, l]));
        add.forEach((l) => known.current.add(l.id));
        setLeads((cur) => [...add, ...cur.map((l) => byId[l.id] || l)]);
        if (add.length) setFresh((cur) => ({ ...cur, ...Object.fromEntries(add.map((l) => [l.id, true])) }));
      } catch { /* next tick */ }
    }, POLL_MS);
    return () => { stop = true; clearInterval(timer); };
  }, [key, r]);

  const more = async () => {
    try {
      const p = await get(`/api/leads${qs({ ...apiParams(f), limit: 25, cursor })}`);
      p.data.forEach((l) => known.current.add(l.id));
      setLeads((cur) => [...cur, ...p.data.filter((l) => !cur.some((c) => c.id === l.id))]);
      setCursor(p.next_cursor);
    } catch (e) { setErr(e); }
  };

  const setF = (k, v) => {
    const n = { ...readFilters(), [k]: v };
    const u = new URLSearchParams();
    for (const x of FILTERS) if (n[x]) u.set(x, n[x]);
    const s = u.toString();
    navigate(s ? `/?${s}` : '/');
  };

  const assignOpts = [['', t('all')], ['me', t('mine')], ['none', t('unassigned')],
    ...(manager ? Object.entries(users).filter(([id]) => id !== me.user.id).map(([id, n]) => [id, n]) : [])];
  const nFresh = Object.keys(fresh).length;

  return (
    <section aria-labelledby="inbox-h">
      <h1 id="inbox-h">{t('inbox')}</h1>
      <form class="filters" role="search" aria-label={t('filters')} onSubmit={(e) => { e.preventDefault(); setF('q', q); }}>
        <Select label={t('status')} name="status" value={f.status} onChange={(v) => setF('status', v)} options={statusOptions(true)} />
        <Select label={t('source')} name="source" value={f.source} onChange={(v) => setF('source', v)} options={sourceOptions(true)} />
        <Select label={t('assignee')} name="assigned_to" value={f.assigned_to} onChange={(v) => setF('assigned_to', v)} options={assignOpts} />
        <label class="field">
          <span>{t('search')}</span>
          <input type="search" name="q" value={q} onInput={(e) => setQ(e.currentTarget.value)}
            onChange={(e) => setF('q', e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t('from')}</span>
          <input type="date" name="from" value={f.from} onChange={(e) => setF('from', e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t('to')}</span>
          <input type="date" name="to" value={f.to} onChange={(e) => setF('to', e.currentTarget.value)} />
        </label>
        <button type="button" class="secondary" onClick={() => navigate('/')}>{t('reset')}</button>
      </form>
      <ErrorBox error={err} />
      <p aria-live="polite" class="muted">{nFresh > 0 ? `${nFresh} ${t('newLeads')}` : ''}</p>
      {loading ? <p>{t('loading')}</p> : (
        leads.length === 0 ? <p data-testid="empty">{t('noLeads')}</p> : (
          <ul class="leads" data-testid="leads">
            {leads.map((l) => <LeadRow lead={l} users={users} fresh={fresh[l.id]} key={l.id} />)}
          </ul>
        )
      )}
      {cursor && !loading && <button type="button" class="secondary" onClick={more}>{t('loadMore')}</button>}
    </section>
  );
}
