/** The pieces the pages' forms and lists are built of: text fields, form dialogs, tables, actions. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useState } from 'preact/hooks';
import { causeFor } from './people';
import { setQuery } from './router';
import { Dialog, ErrorMessage, Field } from './ui';

export interface TextFieldProps {
  label: string;
  value: string;
  onValue(value: string): void;
  error?: string | undefined;
  help?: string | undefined;
  required?: boolean;
  /** A `<textarea>` instead of a one-line input. */
  multiline?: boolean;
  type?: 'text' | 'email' | 'password' | 'url';
  autoComplete?: string;
  maxLength?: number;
}

/** A labelled text input (or text area) with its help and its error. */
export function TextField({ label, value, onValue, error, help, required, multiline, type = 'text', autoComplete, maxLength }: TextFieldProps) {
  return (
    <Field label={label} required={required} error={error} help={help}>
      {({ id, describedBy, invalid }) =>
        multiline ? (
          <textarea
            id={id}
            value={value}
            maxLength={maxLength}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onInput={(e) => onValue(e.currentTarget.value)}
          />
        ) : (
          <input
            id={id}
            type={type}
            value={value}
            required={required}
            maxLength={maxLength}
            autoComplete={autoComplete}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onInput={(e) => onValue(e.currentTarget.value)}
          />
        )
      }
    </Field>
  );
}

/** "the form was not saved: see the fields" when a cause names a field, else the error itself. */
export function FormError({ error, fields, what }: { error: unknown; fields: string[]; what: string }) {
  if (!error) return null;
  if (fields.some((f) => causeFor(error, f)))
    return (
      <p class="error" role="alert">
        The {what} was not saved: see the fields.
      </p>
    );
  return <ErrorMessage error={error} />;
}

export interface FormDialogProps {
  title: string;
  /** The submit button's text. */
  submit: string;
  /** What the form saves ("group"), and the fields whose errors are shown beside them. */
  what: string;
  fields: string[];
  onSubmit(): Promise<void>;
  onClose(): void;
  /** The form's fields, given the last submit's error (for `causeFor`). */
  children(error: unknown): ComponentChildren;
}

/**
 * A form in a modal dialog: submit sends it once at a time; a refusal is shown beside its fields
 * and under them, and the form stays open for another try.
 */
export function FormDialog({ title, submit, what, fields, onSubmit, onClose, children }: FormDialogProps) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await onSubmit();
          } catch (e) {
            setError(e);
            setBusy(false);
          }
        }}
      >
        {children(error)}
        <FormError error={error} fields={fields} what={what} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {submit}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** An action's last error, and `run`, which clears it, awaits the action and keeps what it throws. */
export function useAttempt(): { error: unknown; run(action: () => Promise<unknown>): Promise<void> } {
  const [error, setError] = useState<unknown>();
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    }
  }, []);
  return { error, run };
}

/**
 * A table of rows: a caption for screen readers, one header cell per column (a string, or a
 * header cell of its own, such as a sort button), an unnamed last column for row actions, and a
 * row saying `empty` when there are none.
 */
export function Table({
  caption,
  columns,
  actions,
  empty,
  count,
  children,
}: {
  caption: string;
  columns: (string | JSX.Element)[];
  actions?: boolean;
  empty?: string;
  count: number;
  children: ComponentChildren;
}) {
  return (
    <table>
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) =>
            typeof column === 'string' ? (
              <th scope="col" key={column}>
                {column}
              </th>
            ) : (
              column
            ),
          )}
          {actions ? (
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          ) : null}
        </tr>
      </thead>
      <tbody>
        {count === 0 && empty ? (
          <tr>
            <td colSpan={columns.length + (actions ? 1 : 0)}>{empty}</td>
          </tr>
        ) : null}
        {children}
      </tbody>
    </table>
  );
}

/** A row of tabs: the selected one is `current`; `onSelect` moves to another. */
export function Tabs<K extends string>({
  label,
  tabs,
  current,
  onSelect,
}: {
  label: string;
  tabs: readonly { key: K; label: string }[];
  current: K;
  onSelect(key: K): void;
}) {
  return (
    <div role="tablist" aria-label={label} class="tabs">
      {tabs.map((t) => (
        <button key={t.key} type="button" role="tab" aria-selected={t.key === current} onClick={() => onSelect(t.key)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

/**
 * A column header that sorts the list by `field` (the `sort` query parameter, as the API's
 * `sorters`): ascending first, descending on a second click.
 */
export function SortableHeader({ field, label, sort }: { field: string; label: string; sort: string }) {
  const direction = sort === field ? 'ascending' : sort === `-${field}` ? 'descending' : undefined;
  return (
    <th scope="col" aria-sort={direction}>
      <button type="button" class="sort" onClick={() => setQuery({ sort: sort === field ? `-${field}` : field, offset: undefined })}>
        {label}
        <span aria-hidden="true">{direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ''}</span>
      </button>
    </th>
  );
}
