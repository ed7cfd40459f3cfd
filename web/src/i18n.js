// A small i18n table: Norwegian Bokmål by default, English as a switch.
// The choice is kept in localStorage ("nv_lang").
import { signal } from './state.js';

const nb = {
  appName: 'Norvalt', inbox: 'Innboks', vehicles: 'Biler', settings: 'Innstillinger',
  metrics: 'Nøkkeltall', apiDocs: 'API-dokumentasjon', signOut: 'Logg ut', language: 'Språk',
  signIn: 'Logg inn', pasteToken: 'Lim inn et token', token: 'Token', useToken: 'Bruk token',
  demoUsers: 'Demobrukere (lokal utvikling)', signInAs: 'Logg inn som', clerkSignIn: 'Logg inn med Clerk',
  loading: 'Laster …', loadMore: 'Last flere', noLeads: 'Ingen leads her.', newLeads: 'nye leads',
  status: 'Status', source: 'Kilde', assignee: 'Ansvarlig', search: 'Søk', from: 'Fra', to: 'Til',
  all: 'Alle', mine: 'Mine', unassigned: 'Ikke tildelt', filters: 'Filtre', reset: 'Nullstill',
  answeredIn: 'svart på {t}', waitingFor: 'venter i {t}', unread: 'ulest', attention: 'trenger oppfølging',
  s_new: 'Ny', s_contacted: 'Kontaktet', s_qualified: 'Kvalifisert', s_won: 'Vunnet', s_lost: 'Tapt',
  src_web_form: 'Nettskjema', src_adf: 'ADF', src_email: 'E-post', src_sms: 'SMS', src_facebook: 'Facebook',
  src_manual: 'Manuell', src_phone: 'Telefon', src_walk_in: 'Besøk',
  back: 'Tilbake til innboksen', contact: 'Kontakt', email: 'E-post', phone: 'Telefon', created: 'Opprettet',
  vehicleInterest: 'Interessert i', matchingStock: 'Passende biler på lager', noMatch: 'Ingen treff på lager.',
  conversation: 'Samtale', customer: 'Kunde', ai: 'AI', human: 'Selger', noMessages: 'Ingen meldinger ennå.',
  reply: 'Svar', send: 'Send', channel: 'Kanal', channelAuto: 'Automatisk', ch_email: 'E-post', ch_sms: 'SMS',
  ch_note: 'Internt notat', ch_web: 'Nett', ch_facebook: 'Facebook',
  ms_queued: 'i kø', ms_sent: 'sendt', ms_delivered: 'levert', ms_failed: 'feilet',
  assignToMe: 'Tildel meg', assignTo: 'Tildel til', nobody: 'Ingen', save: 'Lagre', saved: 'Lagret',
  aiPaused: 'AI er satt på pause', aiActive: 'AI svarer', pauseAi: 'Sett AI på pause', resumeAi: 'Gjenoppta AI',
  exportData: 'Eksporter data (GDPR)', erase: 'Slett lead (GDPR)', eraseConfirm: 'Slette dette leadet og alle meldingene for godt? Dette kan ikke angres.',
  cancel: 'Avbryt', confirmErase: 'Ja, slett', erased: 'Leadet er slettet.', notes: 'Notater', message: 'Melding',
  make: 'Merke', model: 'Modell', year: 'Årsmodell', vin: 'VIN', stockNumber: 'Lagernr.', price: 'Pris (kr)',
  stockStatus: 'Lagerstatus', st_in_stock: 'På lager', st_reserved: 'Reservert', st_sold: 'Solgt', st_incoming: 'Kommer',
  addVehicle: 'Legg til bil', edit: 'Rediger', markSold: 'Marker som solgt', noVehicles: 'Ingen biler.',
  aiEnabled: 'AI-svar på', tone: 'Tone', timezone: 'Tidssone', businessHours: 'Åpningstider', closed: 'Stengt',
  autoAssign: 'Fordeling', aa_off: 'Manuell', aa_round_robin: 'Rundgang', repScope: 'Selgere ser',
  scope_all: 'alle leads', scope_assigned: 'egne og ikke tildelte', templates: 'Maler', followUpLimit: 'Maks oppfølginger',
  otherSettings: 'Andre innstillinger', webhooks: 'Webhooks', webhookSecret: 'Webhook-hemmelighet', noSecret: 'Ingen (signatur kreves ikke)',
  copy: 'Kopier', copied: 'Kopiert', managersOnly: 'Kun for ledere og administratorer.',
  speedToLead: 'Svartid', median: 'Median', p90: '90-persentil', within5: 'Svart innen 5 min', answered: 'Besvart',
  trend: 'Svartid over tid', funnel: 'Trakt', bySource: 'Leads per kilde', byRep: 'Svartid per selger',
  leads: 'Leads', won: 'Vunnet', total: 'Totalt', conversion: 'Konvertering', period: 'Periode',
  days7: 'Siste 7 dager', days30: 'Siste 30 dager', days90: 'Siste 90 dager', days365: 'Siste 12 måneder',
  day: 'Dag', rep: 'Selger', seconds: 'sekunder', none: '–',
  err401: 'Økten er utløpt. Logg inn på nytt.', errNetwork: 'Fikk ikke kontakt med serveren.',
  role_sales_rep: 'selger', role_manager: 'leder', role_admin: 'administrator',
  d_mon: 'man', d_tue: 'tir', d_wed: 'ons', d_thu: 'tor', d_fri: 'fre', d_sat: 'lør', d_sun: 'søn',
  skipTo: 'Hopp til innhold', menu: 'Meny', dealership: 'Forhandler',
};

const en = {
  appName: 'Norvalt', inbox: 'Inbox', vehicles: 'Vehicles', settings: 'Settings',
  metrics: 'Metrics', apiDocs: 'API docs', signOut: 'Sign out', language: 'Language',
  signIn: 'Sign in', pasteToken: 'Paste a token', token: 'Token', useToken: 'Use token',
  demoUsers: 'Demo users (local development)', signInAs: 'Sign in as', clerkSignIn: 'Sign in with Clerk',
  loading: 'Loading …', loadMore: 'Load more', noLeads: 'No leads here.', newLeads: 'new leads',
  status: 'Status', source: 'Source', assignee: 'Assignee', search: 'Search', from: 'From', to: 'To',
  all: 'All', mine: 'Mine', unassigned: 'Unassigned', filters: 'Filters', reset: 'Reset',
  answeredIn: 'answered in {t}', waitingFor: 'waiting {t}', unread: 'unread', attention: 'needs attention',
  s_new: 'New', s_contacted: 'Contacted', s_qualified: 'Qualified', s_won: 'Won', s_lost: 'Lost',
  src_web_form: 'Web form', src_adf: 'ADF', src_email: 'E-mail', src_sms: 'SMS', src_facebook: 'Facebook',
  src_manual: 'Manual', src_phone: 'Phone', src_walk_in: 'Walk-in',
  back: 'Back to the inbox', contact: 'Contact', email: 'E-mail', phone: 'Phone', created: 'Created',
  vehicleInterest: 'Interested in', matchingStock: 'Matching stock', noMatch: 'Nothing matching in stock.',
  conversation: 'Conversation', customer: 'Customer', ai: 'AI', human: 'Sales', noMessages: 'No messages yet.',
  reply: 'Reply', send: 'Send', channel: 'Channel', channelAuto: 'Automatic', ch_email: 'E-mail', ch_sms: 'SMS',
  ch_note: 'Internal note', ch_web: 'Web', ch_facebook: 'Facebook',
  ms_queued: 'queued', ms_sent: 'sent', ms_delivered: 'delivered', ms_failed: 'failed',
  assignToMe: 'Assign to me', assignTo: 'Assign to', nobody: 'Nobody', save: 'Save', saved: 'Saved',
  aiPaused: 'AI is paused', aiActive: 'AI is answering', pauseAi: 'Pause AI', resumeAi: 'Resume AI',
  exportData: 'Export data (GDPR)', erase: 'Erase lead (GDPR)', eraseConfirm: 'Erase this lead and all its messages for good? This cannot be undone.',
  cancel: 'Cancel', confirmErase: 'Yes, erase', erased: 'The lead was erased.', notes: 'Notes', message: 'Message',
  make: 'Make', model: 'Model', year: 'Year', vin: 'VIN', stockNumber: 'Stock no.', price: 'Price (NOK)',
  stockStatus: 'Stock status', st_in_stock: 'In stock', st_reserved: 'Reserved', st_sold: 'Sold', st_incoming: 'Incoming',
  addVehicle: 'Add vehicle', edit: 'Edit', markSold: 'Mark sold', noVehicles: 'No vehicles.',
  aiEnabled: 'AI replies on', tone: 'Tone', timezone: 'Time zone', businessHours: 'Opening hours', closed: 'Closed',
  autoAssign: 'Assignment', aa_off: 'Manual', aa_round_robin: 'Round robin', repScope: 'Sales reps see',
  scope_all: 'all leads', scope_assigned: 'their own and unassigned', templates: 'Templates', followUpLimit: 'Follow-up limit',
  otherSettings: 'Other settings', webhooks: 'Webhooks', webhookSecret: 'Webhook secret', noSecret: 'None (no signature required)',
  copy: 'Copy', copied: 'Copied', managersOnly: 'For managers and admins only.',
  speedToLead: 'Speed to lead', median: 'Median', p90: '90th percentile', within5: 'Answered within 5 min', answered: 'Answered',
  trend: 'Speed to lead over time', funnel: 'Funnel', bySource: 'Leads by source', byRep: 'Response time per rep',
  leads: 'Leads', won: 'Won', total: 'Total', conversion: 'Conversion', period: 'Period',
  days7: 'Last 7 days', days30: 'Last 30 days', days90: 'Last 90 days', days365: 'Last 12 months',
  day: 'Day', rep: 'Rep', seconds: 'seconds', none: '–',
  err401: 'Your session has expired. Please sign in again.', errNetwork: 'Could not reach the server.',
  role_sales_rep: 'sales rep', role_manager: 'manager', role_admin: 'admin',
  d_mon: 'Mon', d_tue: 'Tue', d_wed: 'Wed', d_thu: 'Thu', d_fri: 'Fri', d_sat: 'Sat', d_sun: 'Sun',
  skipTo: 'Skip to content', menu: 'Menu', dealership: 'Dealership',
};

const tables = { nb, en };
const saved = (() => { try { return localStorage.getItem('nv_lang'); } catch { return null; } })();
export const lang = signal(saved === 'en' ? 'en' : 'nb');

export function setLang(l) {
  lang.value = l === 'en' ? 'en' : 'nb';
  try { localStorage.setItem('nv_lang', lang.value); } catch { /* private mode */ }
  document.documentElement.lang = lang.value;
}

export function t(key, vars) {
  let s = tables[lang.value][key] ?? tables.nb[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, v);
  return s;
}
