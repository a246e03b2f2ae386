/**
 * Client-side routes under `/console/`: the path is the page, the query its state (search, page,
 * tab), so that reloading or sharing a URL shows the same thing. The server answers `index.html`
 * for every path below `/console/`.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console';

const listeners = new Set<() => void>();
const changed = () => {
  for (const listener of listeners) listener();
};
window.addEventListener('popstate', changed);

/** Goes to a console URL (`/console/…`), adding to the history unless `replace`. */
export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  changed();
}

/** The current location; the component re-renders when it changes. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  const rendered = location.href;
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    // A child's effect may have navigated before this one subscribed.
    if (location.href !== rendered) listener();
    return () => void listeners.delete(listener);
  }, [rendered]);
  return { path: location.pathname.replace(/\/+$/, '') || '/', query: new URLSearchParams(location.search) };
}

/** Replaces some of the query's parameters (empty values are dropped), keeping the path. */
export function setQuery(changes: Record<string, string | number | undefined>, replace = false): void {
  const query = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '' || value === 0) query.delete(key);
    else query.set(key, String(value));
  }
  const text = query.toString();
  navigate(`${location.pathname}${text ? `?${text}` : ''}`, replace);
}

/** Matches `/console/records/:id` against a path; the parameters, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const have = path.split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(h);
    else if (w !== h) return undefined;
  }
  return params;
}

/** A click on an in-app link: handled here unless a modifier asks the browser for a new tab. */
export function follow(event: MouseEvent, url: string): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(url);
}
