// Stock: list for everyone; add, edit and mark sold for managers and admins
// (the API's roles).  Prices are NOK, kept in øre by the API.
import { useEffect, useState } from 'preact/hooks';
import { get, patch, post } from '../api.js';
import { nok } from '../format.js';
import { t } from '../i18n.js';
import { ErrorBox, Select, STOCK } from '../ui.jsx';

const EMPTY = { make: '', model: '', year: '', vin: '', stock_number: '', price: '', stock_status: 'in_stock' };

function toBody(f) {
  const n = (s) => (String(s).trim() === '' ? null : String(s).trim());
  return {
    make: f.make.trim(), model: f.model.trim(), year: f.year === '' ? null : Number(f.year),
    vin: n(f.vin), stock_number: n(f.stock_number),
    price_ore: f.price === '' ? null : Math.round(Number(String(f.price).replace(/\s/g, '').replace(',', '.')) * 100),
    stock_status: f.stock_status,
  };
}

function VehicleForm({ initial, onSave, onCancel, title }) {
  const [f, setF] = useState(initial);
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value });
  return (
    <form class="card grid" onSubmit={(e) => { e.preventDefault(); onSave(f); }} aria-label={title}>
      <h2>{title}</h2>
      <label class="field"><span>{t('make')}</span><input name="make" value={f.make} onInput={set('make')} required /></label>
      <label class="field"><span>{t('model')}</span><input name="model" value={f.model} onInput={set('model')} required /></label>
      <label class="field"><span>{t('year')}</span><input name="year" type="number" min="1900" max="2100" value={f.year} onInput={set('year')} /></label>
      <label class="field"><span>{t('vin')}</span><input name="vin" maxLength={17} value={f.vin} onInput={set('vin')} /></label>
      <label class="field"><span>{t('stockNumber')}</span><input name="stock_number" value={f.stock_number} onInput={set('stock_number')} /></label>
      <label class="field"><span>{t('price')}</span><input name="price" inputMode="decimal" value={f.price} onInput={set('price')} /></label>
      <Select label={t('stockStatus')} name="stock_status" value={f.stock_status} onChange={(v) => setF({ ...f, stock_status: v })}
        options={STOCK.map((s) => [s, t(`st_${s}`)])} />
      <div class="row">
        <button type="submit">{t('save')}</button>
        {onCancel && <button type="button" class="secondary" onClick={onCancel}>{t('cancel')}</button>}
      </div>
    </form>
  );
}

export function Vehicles({ me }) {
  const [list, setList] = useState(null);
  const [err, setErr] = useState(null);
  const [editing, setEditing] = useState(null);
  const [adding, setAdding] = useState(false);
  const manager = me.user.role !== 'sales_rep';

  const load = () => get('/api/vehicles').then((v) => setList(v.data || []), setErr);
  useEffect(() => { load(); }, []);

  const save = async (id, f) => {
    setErr(null);
    try {
      if (id) await patch(`/api/vehicles/${id}`, toBody(f)); else await post('/api/vehicles', toBody(f));
      setEditing(null);
      setAdding(false);
      load();
    } catch (e) { setErr(e); }
  };
  const sold = async (v) => {
    setErr(null);
    try { await patch(`/api/vehicles/${v.id}`, { stock_status: 'sold' }); load(); } catch (e) { setErr(e); }
  };

  return (
    <section aria-labelledby="v-h">
      <h1 id="v-h">{t('vehicles')}</h1>
      <ErrorBox error={err} />
      {manager && !adding && <p><button type="button" onClick={() => setAdding(true)}>{t('addVehicle')}</button></p>}
      {adding && <VehicleForm title={t('addVehicle')} initial={EMPTY} onSave={(f) => save(null, f)} onCancel={() => setAdding(false)} />}
      {editing && (
        <VehicleForm key={editing.id} title={`${t('edit')}: ${editing.make} ${editing.model}`}
          initial={{ make: editing.make, model: editing.model, year: editing.year ?? '', vin: editing.vin || '',
            stock_number: editing.stock_number || '', price: editing.price_ore == null ? '' : editing.price_ore / 100,
            stock_status: editing.stock_status }}
          onSave={(f) => save(editing.id, f)} onCancel={() => setEditing(null)} />
      )}
      {!list ? <p>{t('loading')}</p> : list.length === 0 ? <p>{t('noVehicles')}</p> : (
        <div class="scroll">
          <table data-testid="vehicles">
            <thead><tr><th>{t('make')} / {t('model')}</th><th>{t('year')}</th><th>{t('price')}</th><th>{t('stockStatus')}</th>{manager && <th><span class="sr">{t('edit')}</span></th>}</tr></thead>
            <tbody>
              {list.map((v) => (
                <tr key={v.id}>
                  <td>{v.make} {v.model}<br /><span class="muted small">{v.stock_number || ''} {v.vin || ''}</span></td>
                  <td>{v.year || ''}</td>
                  <td>{nok(v.price_ore)}</td>
                  <td>{t(`st_${v.stock_status}`)}</td>
                  {manager && (
                    <td>
                      <div class="row">
                        <button type="button" class="secondary" onClick={() => setEditing(v)}>{t('edit')}</button>
                        {v.stock_status !== 'sold' && <button type="button" class="secondary" onClick={() => sold(v)}>{t('markSold')}</button>}
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
