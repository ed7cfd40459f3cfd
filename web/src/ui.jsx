// Small shared pieces.
import { t } from './i18n.js';

export function ErrorBox({ error }) {
  if (!error) return null;
  const text = error.text || error.message || String(error);
  return <p class="error" role="alert">{text}</p>;
}

export function Badge({ kind, children }) {
  return <span class={`badge ${kind || ''}`}>{children}</span>;
}

export const STATUSES = ['new', 'contacted', 'qualified', 'won', 'lost'];
export const SOURCES = ['web_form', 'adf', 'email', 'sms', 'facebook', 'manual', 'phone', 'walk_in'];
export const STOCK = ['in_stock', 'reserved', 'sold', 'incoming'];

export function Select({ label, value, onChange, options, id, name }) {
  return (
    <label class="field">
      <span>{label}</span>
      <select id={id} name={name} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map(([v, l]) => <option value={v} key={v}>{l}</option>)}
      </select>
    </label>
  );
}

export const statusOptions = (withAll) => [...(withAll ? [['', t('all')]] : []), ...STATUSES.map((s) => [s, t(`s_${s}`)])];
export const sourceOptions = (withAll) => [...(withAll ? [['', t('all')]] : []), ...SOURCES.map((s) => [s, t(`src_${s}`)])];
