/** Shared pieces of every page: links, loading, errors, paging, fields, dialogs, dates. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { messageOf } from './api';
import { follow } from './router';

export function Link({ href, children, ...rest }: { href: string; children: ComponentChildren } & JSX.HTMLAttributes<HTMLAnchorElement>) {
  return (
    <a href={href} onClick={(event) => follow(event as unknown as MouseEvent, href)} {...rest}>
      {children}
    </a>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `key` changes (and on `reload`); the latest answer wins. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean; key: string | undefined }>({
    data: undefined,
    error: undefined,
    loading: true,
    key: undefined,
  });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => run === latest.current && setState({ data, error: undefined, loading: false, key }),
      (error: unknown) => run === latest.current && setState({ data: undefined, error, loading: false, key }),
    );
  }, [key, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  // Loading until the answer is the current key's: a render between a new key and its effect
  // never shows the previous answer as ready.
  return { data: state.data, error: state.error, loading: state.loading || state.key !== key, reload };
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert">
      {messageOf(error)}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** Previous and next over a server-side page, with where we are in the total. */
export function Pager({
  total,
  limit,
  offset,
  onOffset,
  label,
}: {
  total: number;
  limit: number;
  offset: number;
  onOffset(offset: number): void;
  label: string;
}) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <span role="status">
        {first}–{last} of {total.toLocaleString('en-US')}
      </span>
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        Previous
      </button>
      <button type="button" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)}>
        Next
      </button>
    </nav>
  );
}

export interface FieldProps {
  /** The control's id, when the page needs to know it (to focus it); one of its own otherwise. */
  id?: string | undefined;
  label: string;
  help?: string | undefined;
  error?: string | undefined;
  required?: boolean | undefined;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ComponentChildren;
}

/** A labelled control with its help text and its error beside it. */
export function Field({ id: given, label, help, error, required, children }: FieldProps) {
  const generated = useId();
  const id = given ?? generated;
  const described = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>
        {label}
        {required ? (
          <span class="required" aria-hidden="true">
            {' '}
            *
          </span>
        ) : null}
      </label>
      {children({ id, describedBy: described, invalid: Boolean(error) })}
      {help ? (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A modal dialog (the browser's own: focus stays inside, Escape closes it). */
export function Dialog({ title, onClose, children }: { title: string; onClose(): void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/** A date as the person reads it (the calendar date of the API's date-time). */
export function day(value: string | null | undefined): string {
  return value ? value.slice(0, 10) : '';
}

export function when(value: string | null | undefined): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

const STATUS_TEXT: Record<string, string> = {
  PENDING: 'Pending',
  APPROVED: 'Approved',
  REJECTED: 'Rejected',
  NOT_READY: 'Waiting',
  CANCELLED: 'Cancelled',
};

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value.toLowerCase()}`}>{STATUS_TEXT[value] ?? value}</span>;
}

/** How a request's approval chain stands, level by level. */
export function Chain({ items }: { items: { approvalOrder: number; approvalStatus: string; approver?: { name?: string; id?: string } }[] }) {
  if (items.length === 0) return <span class="muted">No approval needed</span>;
  const levels = [...items].sort((a, b) => a.approvalOrder - b.approvalOrder);
  return (
    <ol class="chain">
      {levels.map((item) => (
        <li key={item.approvalOrder}>
          Level {item.approvalOrder}: <Status value={item.approvalStatus} />
        </li>
      ))}
    </ol>
  );
}

/** The debounced value of a search box: the API is asked once the person stops typing. */
export function useDebounced<T>(value: T, ms = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

let flash = '';
/** A message for the next page to show (after a form sends the person elsewhere). */
export function setFlash(message: string): void {
  flash = message;
}
export function takeFlash(): string {
  const message = flash;
  flash = '';
  return message;
}
