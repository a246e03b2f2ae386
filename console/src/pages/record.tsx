/** A record's page: its fields, the change the person may make (end date, or every field), and its audit history. */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, get, patch } from '../api';
import type { PageDef } from '../pages';
import { IdentityPicker } from '../picker';
import { BASE } from '../router';
import { day, ErrorMessage, Field, Link, Loading, useLoad, when } from '../ui';
import { Table } from '../forms';
import type { RecordRow } from './records';
import { recordsPage } from './records';

interface History {
  editable: 'all' | 'endDate' | 'none';
  total: number;
  events: {
    id: string;
    type: string;
    time: string;
    actor: { id: string; alias: string } | null;
    data: { changes?: Record<string, { old: unknown; new: unknown }> };
  }[];
}

const EDITABLE = [
  ['firstName', 'First name'],
  ['lastName', 'Last name'],
  ['email', 'Email'],
  ['phone', 'Phone'],
  ['manager', 'Manager'],
  ['startDate', 'Start date'],
  ['endDate', 'End date'],
] as const;

const show = (value: unknown) => (typeof value === 'string' ? (/^\d{4}-\d\d-\d\dT/.test(value) ? day(value) : value) : JSON.stringify(value));

function EditForm({ record, editable, onSaved }: { record: RecordRow; editable: 'all' | 'endDate'; onSaved(): void }) {
  const fields = EDITABLE.filter(([name]) => editable === 'all' || name === 'endDate');
  const initial = Object.fromEntries(fields.map(([name]) => [name, name.endsWith('Date') ? day(record[name]) : String(record[name] ?? '')]));
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<unknown>();
  const [saved, setSaved] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(undefined);
    setSaved('');
    const operations = fields
      .filter(([name]) => values[name] !== initial[name])
      .map(([name]) => ({ op: 'replace', path: `/${name}`, value: (values[name] ?? '').trim() }));
    if (operations.length === 0) {
      setSaved('Nothing changed.');
      return;
    }
    const found: Record<string, string> = {};
    for (const [name, label] of fields) if ((values[name] ?? '').trim() === '') found[name] = `${label} is required.`;
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    try {
      await patch(`/v3/non-employee-records/${record.id}`, operations);
      setSaved('Saved.');
      onSaved();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 400) {
        const beside: Record<string, string> = {};
        for (const cause of failure.causes.length ? failure.causes : [failure.message]) {
          const name = fields.find(([n]) => cause.startsWith(`${n} `) || cause.includes(`/${n}`))?.[0];
          if (name) beside[name] = cause;
        }
        setErrors(beside);
        if (Object.keys(beside).length === 0) setProblem(failure);
      } else setProblem(failure);
    }
  };
  return (
    <form onSubmit={submit} class="form" noValidate>
      <h2>{editable === 'all' ? 'Edit record' : 'Change the end date'}</h2>
      <ErrorMessage error={problem} />
      {fields.map(([name, label]) => (
        <Field key={name} label={label} error={errors[name]} required>
          {({ id, describedBy, invalid }) =>
            name === 'manager' ? (
              <IdentityPicker
                id={id}
                value={values[name] ?? ''}
                onChange={(v) => setValues({ ...values, [name]: v })}
                describedBy={describedBy}
                invalid={invalid}
              />
            ) : (
              <input
                id={id}
                type={name.endsWith('Date') ? 'date' : name === 'email' ? 'email' : 'text'}
                required
                aria-invalid={invalid}
                aria-describedby={describedBy}
                value={values[name] ?? ''}
                onInput={(e) => setValues({ ...values, [name]: e.currentTarget.value })}
              />
            )
          }
        </Field>
      ))}
      <div class="actions">
        <button type="submit" class="primary">
          {editable === 'all' ? 'Save changes' : 'Save end date'}
        </button>
        <span role="status">{saved}</span>
      </div>
    </form>
  );
}

function RecordPage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const loaded = useLoad(async () => {
    const [record, history] = await Promise.all([
      get<RecordRow>(`/v3/non-employee-records/${encodeURIComponent(id)}`),
      get<History>(`/console/api/records/${encodeURIComponent(id)}/history`, { limit: 50 }),
    ]);
    const source = await get<{ name: string }>(`/v3/non-employee-sources/${record.data.sourceId}`).then(
      (a) => a.data.name,
      () => '',
    );
    return { record: record.data, history: history.data, source };
  }, id);
  const data = loaded.data;
  return (
    <>
      <p>
        <Link href={`${BASE}/records`}>Back to records</Link>
      </p>
      <ErrorMessage error={loaded.error} />
      {loaded.loading && !data ? <Loading what="the record" /> : null}
      {data ? (
        <div data-ready={loaded.loading ? undefined : 'true'}>
          <h1>
            {data.record.firstName} {data.record.lastName}
          </h1>
          <dl class="facts">
            <dt>Account name</dt>
            <dd>{data.record.accountName}</dd>
            <dt>Source</dt>
            <dd>{data.source || data.record.sourceId}</dd>
            <dt>Email</dt>
            <dd>{data.record.email}</dd>
            <dt>Phone</dt>
            <dd>{data.record.phone}</dd>
            <dt>Manager</dt>
            <dd>{data.record.manager}</dd>
            <dt>Start date</dt>
            <dd>{day(data.record.startDate)}</dd>
            <dt>End date</dt>
            <dd>{day(data.record.endDate)}</dd>
            {Object.entries(data.record.data ?? {}).map(([key, value]) => (
              <Fragment key={key}>
                <dt>{key}</dt>
                <dd>{value}</dd>
              </Fragment>
            ))}
          </dl>
          {data.history.editable !== 'none' ? <EditForm record={data.record} editable={data.history.editable} onSaved={loaded.reload} /> : null}
          <h2>History</h2>
          <div class="table-wrap">
            <Table caption="Audit history of the record" columns={['When', 'What', 'Who', 'Changes']} count={data.history.events.length}>
              {data.history.events.map((event) => (
                <tr key={event.id}>
                  <td>{when(event.time)}</td>
                  <td>{event.type}</td>
                  <td>{event.actor?.alias ?? 'NELM'}</td>
                  <td>
                    {Object.entries(event.data.changes ?? {}).map(([field, change]) => (
                      <div key={field}>
                        {field}: {show(change.old)} → {show(change.new)}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </Table>
          </div>
          {data.history.total > data.history.events.length ? (
            <p class="muted">
              The latest {data.history.events.length} of {data.history.total} events.
            </p>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

export const recordPage: PageDef = {
  path: '/records/:id',
  title: 'Record',
  visible: (me) => recordsPage.visible(me),
  component: RecordPage,
};
