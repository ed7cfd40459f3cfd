// Dealership settings (manager/admin): AI on/off, language, tone, opening
// hours, templates, assignment, any other plain settings the API holds, and
// the webhook URLs with the secret.  Only changed keys are sent (PATCH
// merges settings), so keys this page does not know are left alone.
import { useEffect, useState } from 'preact/hooks';
import { get, patch } from '../api.js';
import { t } from '../i18n.js';
import { ErrorBox, Select } from '../ui.jsx';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const KNOWN = ['ai_enabled', 'language', 'tone', 'timezone', 'business_hours', 'auto_assign', 'sales_rep_scope',
  'webhook_secret', 'templates', 'facebook_page_id'];

function Copy({ text, label }) {
  const [ok, setOk] = useState(false);
  const copy = async () => {
    try { await navigator.clipboard.writeText(text); setOk(true); setTimeout(() => setOk(false), 1500); } catch { setOk(false); }
  };
  return (
    <div class="copy">
      <code>{text}</code>
      <button type="button" class="secondary" onClick={copy} aria-label={`${t('copy')}: ${label}`}>{ok ? t('copied') : t('copy')}</button>
    </div>
  );
}

export function Settings({ me }) {
  const [d, setD] = useState(null);
  const [s, setS] = useState(null);
  const [err, setErr] = useState(null);
  const [note, setNote] = useState('');
  const manager = me.user.role !== 'sales_rep';

  useEffect(() => {
    get('/api/dealership').then((x) => { setD(x); setS(structuredClone(x.settings || {})); }, setErr);
  }, []);

  if (!manager) return <p>{t('managersOnly')}</p>;
  if (!s) return <><ErrorBox error={err} /><p>{t('loading')}</p></>;

  const set = (k, v) => setS({ ...s, [k]: v });
  const hours = s.business_hours || {};
  const setHours = (day, v) => set('business_hours', { ...hours, [day]: v });
  const templates = s.templates && typeof s.templates === 'object' ? s.templates : {};
  const tplKeys = [...new Set(['nb', 'en', ...Object.keys(templates).filter((k) => typeof templates[k] === 'string')])];
  const others = Object.entries(s).filter(([k, v]) => !KNOWN.includes(k) && (typeof v === 'string' || typeof v === 'number'));

  const save = async (e) => {
    e.preventDefault();
    setErr(null);
    setNote('');
    const diff = {};
    for (const [k, v] of Object.entries(s)) if (JSON.stringify(v) !== JSON.stringify(d.settings[k])) diff[k] = v;
    if (Object.keys(diff).length === 0) { setNote(t('saved')); return; }
    try {
      const x = await patch('/api/dealership', { settings: diff });
      setD(x);
      setS(structuredClone(x.settings || {}));
      setNote(t('saved'));
    } catch (e2) { setErr(e2); }
  };

  const base = location.origin;
  const hooks = [['form', 'Form'], ['adf', 'ADF/XML'], ['sms', 'SMS (Twilio)'], ['email', 'E-mail (Mailgun)']];

  return (
    <section aria-labelledby="s-h">
      <h1 id="s-h">{t('settings')} · {d.name}</h1>
      <ErrorBox error={err} />
      <form class="card grid" onSubmit={save}>
        <label class="check"><input type="checkbox" name="ai_enabled" checked={!!s.ai_enabled} onChange={(e) => set('ai_enabled', e.currentTarget.checked)} /> {t('aiEnabled')}</label>
        <Select label={t('language')} name="language" value={s.language || 'nb'} onChange={(v) => set('language', v)} options={[['nb', 'Norsk bokmål'], ['en', 'English']]} />
        <label class="field"><span>{t('tone')}</span><input name="tone" maxLength={200} value={s.tone || ''} onInput={(e) => set('tone', e.currentTarget.value)} /></label>
        <label class="field"><span>{t('timezone')}</span><input name="timezone" maxLength={64} value={s.timezone || 'Europe/Oslo'} onInput={(e) => set('timezone', e.currentTarget.value)} /></label>
        <Select label={t('autoAssign')} name="auto_assign" value={s.auto_assign || 'off'} onChange={(v) => set('auto_assign', v)} options={[['off', t('aa_off')], ['round_robin', t('aa_round_robin')]]} />
        <Select label={t('repScope')} name="sales_rep_scope" value={s.sales_rep_scope || 'all'} onChange={(v) => set('sales_rep_scope', v)} options={[['all', t('scope_all')], ['assigned', t('scope_assigned')]]} />
        {others.map(([k, v]) => (
          <label class="field" key={k}><span>{k === 'follow_up_limit' ? t('followUpLimit') : k}</span>
            <input name={k} type={typeof v === 'number' ? 'number' : 'text'} value={v}
              onInput={(e) => set(k, typeof v === 'number' ? Number(e.currentTarget.value) : e.currentTarget.value)} /></label>
        ))}
        <fieldset class="hours">
          <legend>{t('businessHours')}</legend>
          {DAYS.map((day) => {
            const h = hours[day];
            return (
              <div class="row" key={day}>
                <span class="day">{t(`d_${day}`)}</span>
                <label class="check"><input type="checkbox" checked={!h} onChange={(e) => setHours(day, e.currentTarget.checked ? null : ['08:00', '16:00'])} /> {t('closed')}</label>
                {h && <>
                  <label><span class="sr">{t(`d_${day}`)} {t('from')}</span><input type="time" value={h[0]} onInput={(e) => setHours(day, [e.currentTarget.value, h[1]])} /></label>
                  <label><span class="sr">{t(`d_${day}`)} {t('to')}</span><input type="time" value={h[1]} onInput={(e) => setHours(day, [h[0], e.currentTarget.value])} /></label>
                </>}
              </div>
            );
          })}
        </fieldset>
        <fieldset>
          <legend>{t('templates')}</legend>
          {tplKeys.map((k) => (
            <label class="field" key={k}><span>{k === 'nb' ? 'Norsk bokmål' : k === 'en' ? 'English' : k}</span>
              <textarea rows={3} name={`templates.${k}`} value={templates[k] || ''} onInput={(e) => set('templates', { ...templates, [k]: e.currentTarget.value })} /></label>
          ))}
        </fieldset>
        <div class="row"><button type="submit">{t('save')}</button><span role="status" class="muted">{note}</span></div>
      </form>
      <section class="card" aria-labelledby="w-h">
        <h2 id="w-h">{t('webhooks')}</h2>
        <p>{t('webhookSecret')}: {s.webhook_secret ? <Copy text={s.webhook_secret} label={t('webhookSecret')} /> : <span class="muted">{t('noSecret')}</span>}</p>
        {hooks.map(([k, label]) => (
          <div key={k}><strong>{label}</strong><Copy text={`${base}/webhooks/${k}/${d.id}`} label={label} /></div>
        ))}
        <div><strong>Facebook Lead Ads</strong><Copy text={`${base}/webhooks/facebook`} label="Facebook" /></div>
      </section>
    </section>
  );
}
