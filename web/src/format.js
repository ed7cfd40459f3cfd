// Times in Europe/Oslo whatever the browser's zone, and speed-to-lead text.
import { lang, t } from './i18n.js';

export const TZ = 'Europe/Oslo';
const loc = () => (lang.value === 'en' ? 'en-GB' : 'nb-NO');

export function dateTime(iso) {
  if (!iso) return t('none');
  return new Intl.DateTimeFormat(loc(), { timeZone: TZ, dateStyle: 'short', timeStyle: 'short' }).format(new Date(iso));
}

export function dayLabel(isoDate) {
  const [y, m, d] = isoDate.split('-').map(Number);
  return new Intl.DateTimeFormat(loc(), { timeZone: 'UTC', day: 'numeric', month: 'short' }).format(new Date(Date.UTC(y, m - 1, d)));
}

// 4 s, 12 min, 3 t / 3 h, 2 d
export function duration(sec) {
  if (sec === null || sec === undefined || Number.isNaN(sec)) return t('none');
  const s = Math.max(0, Math.round(sec));
  const h = lang.value === 'en' ? 'h' : 't';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 360) / 10} ${h}`;
  return `${Math.round(s / 8640) / 10} d`;
}

export function speedToLead(lead, now = Date.now()) {
  if (lead.first_response_seconds !== null && lead.first_response_seconds !== undefined)
    return { answered: true, text: t('answeredIn', { t: duration(lead.first_response_seconds) }) };
  return { answered: false, text: t('waitingFor', { t: duration((now - Date.parse(lead.created_at)) / 1000) }) };
}

// Offset of Europe/Oslo from UTC at an instant, in minutes.
function osloOffset(ms) {
  const p = new Intl.DateTimeFormat('en-US', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(ms));
  const g = (k) => Number(p.find((x) => x.type === k).value);
  return (Date.UTC(g('year'), g('month') - 1, g('day'), g('hour'), g('minute'), g('second')) - ms) / 60000;
}

// "2026-10-31" -> the RFC 3339 instant of that day's midnight in Oslo.
export function osloMidnight(date, plusDays = 0) {
  const [y, m, d] = date.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d + plusDays);
  return new Date(guess - osloOffset(guess) * 60000).toISOString();
}

export function nok(ore) {
  if (ore === null || ore === undefined) return t('none');
  return new Intl.NumberFormat(loc(), { style: 'currency', currency: 'NOK', maximumFractionDigits: 0 }).format(ore / 100);
}

export function pct(x) {
  return new Intl.NumberFormat(loc(), { style: 'percent', maximumFractionDigits: 1 }).format(x || 0);
}

export const fullName = (l) => [l.first_name, l.last_name].filter(Boolean).join(' ') || l.email || l.phone || '?';
