// Metrics from GET /api/stats: speed to lead (median, p90, share within
// 5 minutes, the trend per day with uPlot on a canvas), the funnel, leads by
// source and per-rep response times as SVG bars, each with its numbers in a
// table beside it.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get, qs } from '../api.js';
import { dayLabel, duration, pct } from '../format.js';
import { t } from '../i18n.js';
import { ErrorBox, SOURCES, STATUSES } from '../ui.jsx';

const PERIODS = [[7, 'days7'], [30, 'days30'], [90, 'days90'], [365, 'days365']];

function Bars({ rows, label, fmt = (v) => v }) {
  const max = Math.max(1, ...rows.map((r) => r[1] || 0));
  const h = 22;
  return (
    <svg class="bars" role="img" aria-label={label} viewBox={`0 0 300 ${rows.length * h}`} width="100%">
      {rows.map(([name, v], i) => (
        <g key={name}>
          <rect x="0" y={i * h + 3} width={Math.max(1, (300 * (v || 0)) / max)} height={h - 6} class="bar" />
          <text x="4" y={i * h + h / 2 + 4} class="bar-label">{name}: {fmt(v)}</text>
        </g>
      ))}
    </svg>
  );
}

function Trend({ days }) {
  const el = useRef(null);
  useEffect(() => {
    if (!el.current || days.length === 0) return undefined;
    const xs = days.map((d) => Date.parse(`${d.date}T12:00:00Z`) / 1000);
    const med = days.map((d) => (d.median_seconds == null ? null : d.median_seconds / 60));
    const share = days.map((d) => (d.leads ? (100 * d.within_5_min) / d.leads : null));
    const width = Math.min(el.current.clientWidth || 320, 900);
    const plot = new uPlot({
      width, height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Europe/Oslo'),
      scales: { x: { time: true }, min: { auto: true }, pct: { range: [0, 100] } },
      series: [
        { label: t('day'), value: (u, v) => (v == null ? '' : dayLabel(new Date(v * 1000).toISOString().slice(0, 10))) },
        { label: `${t('median')} (min)`, scale: 'min', stroke: '#1d4ed8', width: 2, points: { size: 6 }, spanGaps: true },
        { label: `${t('within5')} (%)`, scale: 'pct', stroke: '#15803d', width: 2, dash: [6, 4], points: { size: 6 }, spanGaps: true },
      ],
      axes: [{}, { scale: 'min', label: 'min' }, { scale: 'pct', side: 1, label: '%', grid: { show: false } }],
      legend: { show: true },
    }, [xs, med, share], el.current);
    return () => plot.destroy();
  }, [days]);
  return <div ref={el} class="trend" data-testid="trend" />;
}

export function Metrics() {
  const [days, setDays] = useState(90);
  const [s, setS] = useState(null);
  const [err, setErr] = useState(null);

  useEffect(() => {
    setErr(null);
    const to = new Date();
    const from = new Date(to.getTime() - days * 86400000);
    get(`/api/stats${qs({ from: from.toISOString(), to: to.toISOString() })}`).then(setS, setErr);
  }, [days]);

  return (
    <section aria-labelledby="mx-h">
      <h1 id="mx-h">{t('metrics')}</h1>
      <label class="field inline">
        <span>{t('period')}</span>
        <select name="period" value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          {PERIODS.map(([n, k]) => <option value={n} key={n}>{t(k)}</option>)}
        </select>
      </label>
      <ErrorBox error={err} />
      {!s ? (!err && <p>{t('loading')}</p>) : (
        <>
          <div class="kpis" data-testid="kpis">
            <div class="kpi"><span>{t('leads')}</span><strong>{s.total}</strong></div>
            <div class="kpi"><span>{t('median')}</span><strong>{duration(s.speed_to_lead.median_seconds)}</strong></div>
            <div class="kpi"><span>{t('p90')}</span><strong>{duration(s.speed_to_lead.p90_seconds)}</strong></div>
            <div class="kpi"><span>{t('within5')}</span><strong>{pct(s.speed_to_lead.within_5_min_share)}</strong></div>
            <div class="kpi"><span>{t('conversion')}</span><strong>{pct(s.conversion_rate)}</strong></div>
          </div>
          <section class="card chart" aria-labelledby="tr-h">
            <h2 id="tr-h">{t('trend')}</h2>
            <Trend days={s.by_day || []} />
            <div class="scroll">
              <table>
                <thead><tr><th>{t('day')}</th><th>{t('leads')}</th><th>{t('answered')}</th><th>{t('within5')}</th><th>{t('median')}</th></tr></thead>
                <tbody>{(s.by_day || []).map((d) => (
                  <tr key={d.date}><td>{dayLabel(d.date)}</td><td>{d.leads}</td><td>{d.answered}</td><td>{d.within_5_min}</td><td>{duration(d.median_seconds)}</td></tr>
                ))}</tbody>
              </table>
            </div>
          </section>
          <div class="cols">
            <section class="card chart" aria-labelledby="f-h">
              <h2 id="f-h">{t('funnel')}</h2>
              <Bars label={t('funnel')} rows={STATUSES.map((k) => [t(`s_${k}`), s.by_status[k]])} />
            </section>
            <section class="card chart" aria-labelledby="so-h">
              <h2 id="so-h">{t('bySource')}</h2>
              <Bars label={t('bySource')} rows={SOURCES.filter((k) => s.by_source[k] > 0).map((k) => [t(`src_${k}`), s.by_source[k]])} />
            </section>
          </div>
          <section class="card chart" aria-labelledby="r-h">
            <h2 id="r-h">{t('byRep')}</h2>
            <Bars label={t('byRep')} fmt={duration} rows={s.by_rep.map((r) => [r.name || '?', r.median_seconds])} />
            <div class="scroll">
              <table>
                <thead><tr><th>{t('rep')}</th><th>{t('leads')}</th><th>{t('won')}</th><th>{t('median')}</th></tr></thead>
                <tbody>{s.by_rep.map((r) => (
                  <tr key={r.user_id}><td>{r.name}</td><td>{r.leads}</td><td>{r.won}</td><td>{duration(r.median_seconds)}</td></tr>
                ))}</tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </section>
  );
}
