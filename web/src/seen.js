// Unread markers: the updated_at a lead had when this browser last opened
// it, in localStorage ("nv_seen:<id>").  A lead is unread when never opened
// or changed since (a new message, a status change).
const K = (id) => `nv_seen:${id}`;

export function markSeen(lead) {
  try { localStorage.setItem(K(lead.id), lead.updated_at); } catch { /* storage off */ }
}

export function isUnread(lead) {
  let v = null;
  try { v = localStorage.getItem(K(lead.id)); } catch { return false; }
  return !v || Date.parse(v) < Date.parse(lead.updated_at);
}

// Needs attention: nobody has answered yet, or the lead is still "new".
export const needsAttention = (lead) => !lead.first_response_at || lead.status === 'new';
