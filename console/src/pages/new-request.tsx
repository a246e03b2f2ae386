/**
 * New request: a Source choice, then one field per schema attribute of that source (system and
 * custom, with their labels, help texts, placeholders and required flags), checked as the API
 * checks them, the API's own errors shown beside the field they name.
 */
import { useState } from 'preact/hooks';
import { ApiError, get, messageOf, post } from '../api';
import type { PageDef } from '../pages';
import { IdentityPicker } from '../picker';
import { BASE, navigate } from '../router';
import { hasRight, useMe } from '../session';
import { ErrorMessage, Field, Link, Loading, setFlash, useLoad } from '../ui';

interface Source {
  id: string;
  name: string;
}

interface Attribute {
  id: string;
  technicalName: string;
  label: string;
  type: string;
  system: boolean;
  required: boolean;
  helpText?: string | null;
  placeholder?: string | null;
}

const SYSTEM = new Set(['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'startDate', 'endDate']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The field a cause of a 400 names (`endDate …`, `data.badge …`), when it names one of the form's. */
function fieldOf(cause: string, names: readonly string[]): string | undefined {
  const first = cause.split(/[\s:]/)[0] ?? '';
  const name = first.startsWith('data.') ? first.slice(5) : first;
  return names.includes(name) ? name : undefined;
}

function check(attributes: Attribute[], values: Record<string, string>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const attribute of attributes) {
    const value = (values[attribute.technicalName] ?? '').trim();
    if (attribute.required && value === '') errors[attribute.technicalName] = `${attribute.label} is required.`;
  }
  if (values.email && !errors.email && !EMAIL.test(values.email.trim())) errors.email = 'Enter an email address such as jane@example.com.';
  if (values.startDate && values.endDate && values.endDate < values.startDate) errors.endDate = 'The end date must not be before the start date.';
  return errors;
}

function RequestForm({ source, attributes }: { source: Source; attributes: Attribute[] }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<unknown>();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (name: string, value: string) => setValues((v) => ({ ...v, [name]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(undefined);
    const found = check(attributes, values);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      const first = attributes.find((a) => found[a.technicalName]);
      if (first) document.getElementById(`field-${first.technicalName}`)?.focus();
      return;
    }
    const body: Record<string, unknown> = { sourceId: source.id, data: {} };
    for (const attribute of attributes) {
      const value = (values[attribute.technicalName] ?? '').trim();
      if (SYSTEM.has(attribute.technicalName)) body[attribute.technicalName] = value;
      else if (value !== '') (body.data as Record<string, string>)[attribute.technicalName] = value;
    }
    if (comment.trim()) body.comment = comment.trim();
    setBusy(true);
    try {
      await post('/v3/non-employee-requests', body);
      setFlash(`Request for ${String(body.accountName)} submitted.`);
      navigate(`${BASE}/requests`);
    } catch (failure) {
      setBusy(false);
      if (failure instanceof ApiError && failure.status === 400) {
        const names = attributes.map((a) => a.technicalName);
        const beside: Record<string, string> = {};
        const rest: string[] = [];
        for (const cause of failure.causes.length > 0 ? failure.causes : [failure.message]) {
          const name = fieldOf(cause, names);
          if (name && !beside[name]) beside[name] = cause;
          else rest.push(cause);
        }
        setErrors(beside);
        setProblem(rest.length > 0 ? new Error(rest.join(' ')) : Object.keys(beside).length > 0 ? new Error('Correct the fields marked below.') : failure);
      } else setProblem(failure);
    }
  };

  return (
    <form onSubmit={submit} noValidate class="form">
      <ErrorMessage error={problem} />
      {attributes.map((attribute) => {
        const name = attribute.technicalName;
        const input = `field-${name}`;
        return (
          <Field
            key={attribute.id}
            id={input}
            label={attribute.label}
            help={attribute.helpText ?? undefined}
            error={errors[name]}
            required={attribute.required}
          >
            {({ describedBy, invalid }) =>
              attribute.type === 'IDENTITY' || name === 'manager' ? (
                <IdentityPicker
                  id={input}
                  value={values[name] ?? ''}
                  onChange={(alias) => set(name, alias)}
                  placeholder={attribute.placeholder ?? 'Search by name, account name or email'}
                  required={attribute.required}
                  describedBy={describedBy}
                  invalid={invalid}
                />
              ) : (
                <input
                  id={input}
                  name={name}
                  type={
                    attribute.type === 'DATE' || name === 'startDate' || name === 'endDate'
                      ? 'date'
                      : name === 'email'
                        ? 'email'
                        : name === 'phone'
                          ? 'tel'
                          : 'text'
                  }
                  placeholder={attribute.placeholder ?? undefined}
                  required={attribute.required}
                  aria-required={attribute.required}
                  aria-invalid={invalid}
                  aria-describedby={describedBy}
                  value={values[name] ?? ''}
                  onInput={(e) => set(name, e.currentTarget.value)}
                />
              )
            }
          </Field>
        );
      })}
      <Field label="Comment" help="Optional: what the approvers should know">
        {({ id, describedBy }) => (
          <textarea id={id} rows={2} maxLength={4000} aria-describedby={describedBy} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
        )}
      </Field>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Submit request
        </button>
        <Link class="button" href={`${BASE}/requests`}>
          Cancel
        </Link>
      </div>
    </form>
  );
}

function NewRequest() {
  const { me } = useMe();
  const [sourceId, setSourceId] = useState('');
  const sources = useLoad(
    async () =>
      (
        await get<Source[]>('/v3/non-employee-sources', {
          'requested-for': hasRight(me, 'idn:nesr:read') ? undefined : 'me',
          limit: 250,
          sorters: 'name',
        })
      ).data,
    'sources',
  );
  const attributes = useLoad(async () => (sourceId ? (await get<Attribute[]>(`/v3/non-employee-sources/${sourceId}/schema-attributes`)).data : []), sourceId);
  const source = sources.data?.find((s) => s.id === sourceId);
  return (
    <>
      <h1>New request</h1>
      <ErrorMessage error={sources.error} />
      {sources.loading ? <Loading what="sources" /> : null}
      {sources.data ? (
        <Field label="Source" help="The source the non-employee's account is requested in; its fields follow." required>
          {({ id, describedBy }) => (
            <select id={id} value={sourceId} aria-describedby={describedBy} required onChange={(e) => setSourceId(e.currentTarget.value)}>
              <option value="">Choose a source</option>
              {sources.data?.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      {sources.data?.length === 0 ? <p>You may request accounts in no source.</p> : null}
      <ErrorMessage error={attributes.error ? messageOf(attributes.error) : undefined} />
      {source && attributes.data && !attributes.loading ? <RequestForm key={source.id} source={source} attributes={attributes.data} /> : null}
    </>
  );
}

export const newRequestPage: PageDef = {
  path: '/requests/new',
  title: 'New request',
  visible: (me) => me.managedSources > 0 || hasRight(me, 'idn:nesr:create'),
  component: NewRequest,
};
