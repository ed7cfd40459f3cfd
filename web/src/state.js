// A tiny observable value (a "signal") and a hook that re-renders on change,
// so the app needs no state library.
import { useEffect, useState } from 'preact/hooks';

export function signal(initial) {
  const subs = new Set();
  let v = initial;
  return {
    get value() { return v; },
    set value(n) { v = n; subs.forEach((f) => f(n)); },
    subscribe(f) { subs.add(f); return () => subs.delete(f); },
  };
}

export function useSignal(s) {
  const [, set] = useState(0);
  useEffect(() => s.subscribe(() => set((n) => n + 1)), [s]);
  return s.value;
}
