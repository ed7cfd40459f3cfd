// One lead: contact details, the vehicle asked about and matching stock, the
// whole conversation, a reply box, status/assignee/AI changes and, for
// managers and admins, GDPR export and erasure.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, del, get, patch, post } from '../api.js';
import { dateTime, fullName, nok, speedToLead } from '../format.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { markSeen } from '../seen.js';
import { Badge, ErrorBox, Select, statusOptions } from '../ui.jsx';

// Unsold stock that matches what the lead asked about (client-side): the
// vehicle the lead names, or one whose model the interest text mentions
// ("Model Y", "ID.4"); the make alone ("Tesla") is too broad to count.
function matches(lead, vehicles) {
  const want = `${lead.vehicle_interest || ''} ${lead.message || ''}`.toLowerCase();
  return vehicles.filter((v) => v.stock_status !== 'sold' &&
    (v.id === lead.vehicle_id || want.includes(v.model.toLowerCase())));
}

function Message({ m, users }) {
  const who = m.sender === 'customer' ? t('customer') : m.sender === 'ai' ? t('ai') : (users[m.user_id] || t('human'));
  return (
    <li class={`msg from-${m.sender} dir-${m.direction}`} data-sender={m.sender}>
      <div class="msg-head">
        <strong>{who}</strong>
        <Badge>{t(`ch_${m.channel}`)}</Badge>
        {m.status && <Badge kind={m.status === 'failed' ? 'bad' : ''}>{t(`ms_${m.status}`)}</Badge>}
        <time dateTime={m.created_at}>{dateTime(m.created_at)}</time>
      </div>
      <p class="msg-body">{m.body}</p>
      {m.status === 'failed' && m.error && <p class="error small">{m.error}</p>}
    </li>
  );
}

export function Lead({ id, me }) {
  const [lead, setLead] = useState(null);
  const [msgs, setMsgs] = useState([]);
  const [vehicles, setVehicles] = useState([]);
  const [users, setUsers] = useState({ [me.user.id]: me.user.name });
  const [err, setErr] = useState(null);
  const [note, setNote] = useState('');
  const [body, setBody] = useState('');
  const [channel, setChannel] = useState('');
  const [busy, setBusy] = useState(false);
  const [gone, setGone] = useState(false);
  const dlg = useRef(null);
  const manager = me.user.role !== 'sales_rep';

  const load = async () => {
    try {
      const [l, m] = await Promise.all([get(`/api/leads/${id}`), get(`/api/leads/${id}/messages`)]);
      setLead(l);
      setMsgs(m.data || []);
      markSeen(l);
    } catch (e) { setErr(e); }
  };

  useEffect(() => {
    load();
    get('/api/vehicles').then((v) => setVehicles(v.data || []), () => {});
    if (manager) {
      get('/api/users').then((u) => {
        const m = { [me.user.id]: me.user.name };
        for (const x of u.data || []) if (x.active) m[x.id] = x.name || x.email;
        setUsers(m);
      }, () => {});
    }
    const timer = setInterval(() => {
      if (document.hidden) return;
      get(`/api/leads/${id}/messages`).then((m) => setMsgs(m.data || []), () => {});
    }, 5000);
    return () => clearInterval(timer);
  }, [id]);

  const change = async (fields) => {
    setErr(null);
    setNote('');
    try {
      const l = await patch(`/api/leads/${id}`, fields);
      setLead(l);
      markSeen(l);
      setNote(t('saved'));
    } catch (e) { setErr(e); }
  };

  const send = async (e) => {
    e.preventDefault();
    if (!body.trim()) return;
    setBusy(true);
    setErr(null);
    try {
      await post(`/api/leads/${id}/messages`, channel ? { body, channel } : { body });
      setBody('');
      await load();
    } catch (e2) { setErr(e2); }
    setBusy(false);
  };

  const exportData = async () => {
    setErr(null);
    try {
      const res = await api('GET', `/api/leads/${id}/export`, undefined, { raw: true });
      const blob = await res.blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `lead-${id}.json`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (e) { setErr(e); }
  };

  const erase = async () => {
    dlg.current.close();
    setErr(null);
    try {
      await del(`/api/leads/${id}`);
      setGone(true);
      setTimeout(() => navigate('/'), 1200);
    } catch (e) { setErr(e); }
  };

  if (gone) return <p role="status">{t('erased')}</p>;
  if (!lead) return <section><a href="/">← {t('back')}</a><ErrorBox error={err} />{!err && <p>{t('loading')}</p>}</section>;

  const stl = speedToLead(lead);
  const stock = matches(lead, vehicles);
  const hasAi = Object.prototype.hasOwnProperty.call(lead, 'ai_paused');
  const assignOpts = [['', t('nobody')], ...Object.entries(users)];
  if (lead.assigned_to && !users[lead.assigned_to]) assignOpts.push([lead.assigned_to, lead.assigned_to.slice(0, 8)]);

  return (
    <article class="lead-page" aria-labelledby="lead-h">
      <a href="/">← {t('back')}</a>
      <h1 id="lead-h">{fullName(lead)}</h1>
      <p class="lead-meta">
        <Badge kind={`st-${lead.status}`}>{t(`s_${lead.status}`)}</Badge>
        <Badge>{t(`src_${lead.source}`)}</Badge>
        <span class={`stl ${stl.answered ? 'ok' : 'waiting'}`} data-testid="stl">{stl.text}</span>
      </p>
      <ErrorBox error={err} />
      <p role="status" class="muted">{note}</p>
      <div class="cols">
        <section class="card" aria-labelledby="c-h">
          <h2 id="c-h">{t('contact')}</h2>
          <dl>
            <dt>{t('email')}</dt><dd>{lead.email ? <a href={`mailto:${lead.email}`}>{lead.email}</a> : t('none')}</dd>
            <dt>{t('phone')}</dt><dd>{lead.phone ? <a href={`tel:${lead.phone}`}>{lead.phone}</a> : t('none')}</dd>
            <dt>{t('created')}</dt><dd><time dateTime={lead.created_at}>{dateTime(lead.created_at)}</time></dd>
            <dt>{t('vehicleInterest')}</dt><dd>{lead.vehicle_interest || t('none')}</dd>
            {lead.notes && <><dt>{t('notes')}</dt><dd>{lead.notes}</dd></>}
          </dl>
          <h3>{t('matchingStock')}</h3>
          {stock.length === 0 ? <p class="muted">{t('noMatch')}</p> : (
            <ul class="plain" data-testid="stock">
              {stock.map((v) => <li key={v.id}>{v.year} {v.make} {v.model} · {nok(v.price_ore)} · {t(`st_${v.stock_status}`)}</li>)}
            </ul>
          )}
        </section>
        <section class="card" aria-labelledby="a-h">
          <h2 id="a-h">{t('status')}</h2>
          <Select label={t('status')} name="status" id="lead-status" value={lead.status}
            onChange={(v) => change({ status: v })} options={statusOptions(false)} />
          {manager ? (
            <Select label={t('assignTo')} name="assigned_to" id="lead-assignee" value={lead.assigned_to || ''}
              onChange={(v) => change({ assigned_to: v || null })} options={assignOpts} />
          ) : (
            <p>
              {t('assignee')}: {lead.assigned_to ? (users[lead.assigned_to] || '…') : t('nobody')}{' '}
              {!lead.assigned_to && (
                <button type="button" class="secondary" onClick={() => change({ assigned_to: me.user.id })}>{t('assignToMe')}</button>
              )}
            </p>
          )}
          {hasAi && (
            <p data-testid="ai-state">
              <Badge kind={lead.ai_paused ? 'warn' : 'ok'}>{lead.ai_paused ? t('aiPaused') : t('aiActive')}</Badge>{' '}
              <button type="button" class="secondary" onClick={() => change({ ai_paused: !lead.ai_paused })}>
                {lead.ai_paused ? t('resumeAi') : t('pauseAi')}
              </button>
            </p>
          )}
          {manager && (
            <p class="row">
              <button type="button" class="secondary" onClick={exportData}>{t('exportData')}</button>
              <button type="button" class="danger" data-testid="erase" onClick={() => dlg.current.showModal()}>{t('erase')}</button>
            </p>
          )}
        </section>
      </div>
      <section aria-labelledby="m-h">
        <h2 id="m-h">{t('conversation')}</h2>
        {/* A lead entered by staff keeps its message on the lead only: show it above the replies. */}
        {lead.message && !msgs.some((m) => m.direction === 'inbound' && m.body === lead.message) && <p class="msg-body" data-testid="lead-message">{lead.message}</p>}
        {msgs.length === 0 ? <p class="muted">{t('noMessages')}</p> : (
          <ol class="msgs" data-testid="messages">{msgs.map((m) => <Message m={m} users={users} key={m.id} />)}</ol>
        )}
        <form class="reply card" onSubmit={send} aria-labelledby="r-h">
          <h3 id="r-h">{t('reply')}</h3>
          <label class="field">
            <span>{t('message')}</span>
            <textarea name="body" rows={4} value={body} onInput={(e) => setBody(e.currentTarget.value)} required maxLength={10000} />
          </label>
          <div class="row">
            <Select label={t('channel')} name="channel" value={channel} onChange={setChannel}
              options={[['', t('channelAuto')], ...(lead.email ? [['email', t('ch_email')]] : []),
                ...(lead.phone ? [['sms', t('ch_sms')]] : []), ['note', t('ch_note')]]} />
            <button type="submit" disabled={busy}>{t('send')}</button>
          </div>
        </form>
      </section>
      {manager && (
        <dialog ref={dlg} aria-labelledby="dlg-h">
          <form method="dialog">
            <h2 id="dlg-h">{t('erase')}</h2>
            <p>{t('eraseConfirm')}</p>
            <div class="row">
              <button type="submit" class="secondary">{t('cancel')}</button>
              <button type="button" class="danger" data-testid="erase-confirm" onClick={erase}>{t('confirmErase')}</button>
            </div>
          </form>
        </dialog>
      )}
    </article>
  );
}
