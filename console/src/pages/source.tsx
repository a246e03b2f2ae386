/**
 * A source's page: its people, its schema attributes (system and custom: add, edit, delete custom
 * ones up to the limit of 10) and its lifecycle policy (org admins: the source's overrides of the
 * tenant's policy).
 */
import { useEffect, useState } from 'preact/hooks';
import { del, get, patch, post, put } from '../api';
import type { PageDef } from '../pages';
import { causeFor, type Chosen, namesOf, withNames } from '../people';
import { BASE, navigate } from '../router';
import { hasRight, useMe } from '../session';
import { FormDialog, Table, TextField, useAttempt } from '../forms';
import { ErrorMessage, Field, Link, Loading, setFlash, useLoad, when } from '../ui';
import { canManageSources, DeleteSourceDialog, type SourceRow, SourceDialog } from './sources';

export interface Attribute {
  id: string;
  system: boolean;
  type: string;
  label: string;
  technicalName: string;
  helpText?: string | null;
  placeholder?: string | null;
  required: boolean;
}

const MAX_CUSTOM = 10;

function AttributeDialog({
  sourceId,
  attribute,
  onClose,
  onSaved,
}: {
  sourceId: string;
  attribute?: Attribute;
  onClose(): void;
  onSaved(label: string): void;
}) {
  const [label, setLabel] = useState(attribute?.label ?? '');
  const [technicalName, setTechnicalName] = useState(attribute?.technicalName ?? '');
  const [helpText, setHelpText] = useState(attribute?.helpText ?? '');
  const [placeholder, setPlaceholder] = useState(attribute?.placeholder ?? '');
  const [required, setRequired] = useState(attribute?.required ?? false);
  const submit = async () => {
    if (attribute) {
      const ops = [
        { op: 'replace', path: '/label', value: label },
        { op: 'replace', path: '/helpText', value: helpText },
        { op: 'replace', path: '/placeholder', value: placeholder },
        ...(attribute.system ? [] : [{ op: 'replace', path: '/required', value: required }]),
      ];
      await patch(`/v3/non-employee-sources/${sourceId}/schema-attributes/${attribute.id}`, ops);
    } else {
      await post(`/v3/non-employee-sources/${sourceId}/schema-attributes`, {
        type: 'TEXT',
        label,
        technicalName,
        ...(helpText ? { helpText } : {}),
        ...(placeholder ? { placeholder } : {}),
        required,
      });
    }
    onSaved(label);
  };
  return (
    <FormDialog
      title={attribute ? `Edit ${attribute.label}` : 'New attribute'}
      submit={attribute ? 'Save attribute' : 'Add attribute'}
      what="attribute"
      fields={['label', 'technicalName', 'helpText', 'placeholder', 'required']}
      onClose={onClose}
      onSubmit={submit}
    >
      {(error) => (
        <>
          <TextField
            label="Label"
            required
            value={label}
            onValue={setLabel}
            error={causeFor(error, 'label')}
            help="What people see beside the field; up to 128 characters."
          />
          {attribute ? null : (
            <TextField
              label="Technical name"
              required
              value={technicalName}
              onValue={setTechnicalName}
              error={causeFor(error, 'technicalName')}
              help="The key in records' data and the CSV column: a letter, then letters, digits, '.', '_' or '-'; unique in the source. It cannot be changed afterwards."
            />
          )}
          <TextField label="Help text" value={helpText ?? ''} onValue={setHelpText} error={causeFor(error, 'helpText')} />
          <TextField label="Placeholder" value={placeholder ?? ''} onValue={setPlaceholder} error={causeFor(error, 'placeholder')} />
          {attribute?.system ? null : (
            <label class="check">
              <input type="checkbox" checked={required} onChange={(e) => setRequired(e.currentTarget.checked)} /> Required
            </label>
          )}
        </>
      )}
    </FormDialog>
  );
}

function Attributes({ sourceId, onNotice }: { sourceId: string; onNotice(text: string): void }) {
  const { me } = useMe();
  const list = useLoad(async () => (await get<Attribute[]>(`/v3/non-employee-sources/${sourceId}/schema-attributes`)).data, sourceId);
  const [dialog, setDialog] = useState<{ attribute?: Attribute }>();
  const attempt = useAttempt();
  const customs = list.data?.filter((a) => !a.system) ?? [];
  const custom = customs.length;
  const move = (attribute: Attribute, by: number) =>
    attempt.run(async () => {
      const order = customs.map((a) => a.id);
      const from = order.indexOf(attribute.id);
      order.splice(from, 1);
      order.splice(from + by, 0, attribute.id);
      await put(`/v3/non-employee-sources/${sourceId}/schema-attributes-order`, { order });
      onNotice(`Moved the attribute ${attribute.label} ${by < 0 ? 'up' : 'down'}.`);
      list.reload();
    });
  const remove = (attribute: Attribute) =>
    attempt.run(async () => {
      await del(`/v3/non-employee-sources/${sourceId}/schema-attributes/${attribute.id}`);
      onNotice(`Deleted the attribute ${attribute.label}.`);
      list.reload();
    });
  return (
    <section aria-labelledby="attributes-heading">
      <div class="heading">
        <h2 id="attributes-heading">Schema attributes</h2>
        {hasRight(me, 'idn:nesr:create') ? (
          <button type="button" disabled={custom >= MAX_CUSTOM} onClick={() => setDialog({})}>
            Add attribute
          </button>
        ) : null}
      </div>
      <p class="help">
        The fields of this source's records, in the API's order: the 8 system attributes, then up to {MAX_CUSTOM} custom ones (text), {custom} used, in the
        order of forms, the CSV template and the export. Deleting a custom attribute removes its value from every record.
      </p>
      <ErrorMessage error={list.error ?? attempt.error} />
      {list.loading && !list.data ? <Loading what="attributes" /> : null}
      {list.data ? (
        <div class="table-wrap" data-ready={list.loading ? undefined : 'true'}>
          <Table caption="Schema attributes" columns={['Label', 'Technical name', 'Kind', 'Required']} actions count={list.data.length}>
            {list.data.map((attribute) => (
              <tr key={attribute.id}>
                <td>
                  {attribute.label}
                  {attribute.helpText ? <p class="muted">{attribute.helpText}</p> : null}
                </td>
                <td>
                  <code>{attribute.technicalName}</code>
                </td>
                <td>{attribute.system ? 'System' : 'Custom'}</td>
                <td>{attribute.required ? 'Yes' : 'No'}</td>
                <td class="row-actions">
                  {hasRight(me, 'idn:nesr:update') ? (
                    <button type="button" aria-label={`Edit ${attribute.label}`} onClick={() => setDialog({ attribute })}>
                      Edit
                    </button>
                  ) : null}
                  {!attribute.system && hasRight(me, 'idn:nesr:update') ? (
                    <>
                      <button
                        type="button"
                        aria-label={`Move ${attribute.label} up`}
                        disabled={customs[0]?.id === attribute.id}
                        onClick={() => void move(attribute, -1)}
                      >
                        Up
                      </button>
                      <button
                        type="button"
                        aria-label={`Move ${attribute.label} down`}
                        disabled={customs[custom - 1]?.id === attribute.id}
                        onClick={() => void move(attribute, 1)}
                      >
                        Down
                      </button>
                    </>
                  ) : null}
                  {!attribute.system && hasRight(me, 'idn:nesr:delete') ? (
                    <button type="button" aria-label={`Delete ${attribute.label}`} onClick={() => void remove(attribute)}>
                      Delete
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      ) : null}
      {dialog ? (
        <AttributeDialog
          sourceId={sourceId}
          attribute={dialog.attribute}
          onClose={() => setDialog(undefined)}
          onSaved={(label) => {
            setDialog(undefined);
            onNotice(`Saved the attribute ${label}.`);
            list.reload();
          }}
        />
      ) : null}
    </section>
  );
}

interface Policy {
  reminderOffsetsDays: number[];
  approvalReminderDays: number;
  escalationDays: number | null;
  retentionDays: number | null;
}

interface SourcePolicy {
  sourceId: string;
  overrides: Partial<Policy>;
  effective: Policy & { digestHourUtc: number };
}

const days = (text: string): number | null | undefined => {
  const t = text.trim();
  if (t === '') return undefined;
  if (t.toLowerCase() === 'never') return null;
  return Number(t);
};

function LifecyclePolicy({ sourceId, onNotice }: { sourceId: string; onNotice(text: string): void }) {
  const url = `/admin/v1/lifecycle-policy/sources/${sourceId}`;
  const policy = useLoad(async () => (await get<SourcePolicy>(url)).data, sourceId);
  const [form, setForm] = useState({ offsets: '', approval: '', escalation: '', retention: '' });
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const o = policy.data?.overrides;
    if (!o) return;
    const text = (v: number | null | undefined) => (v === undefined ? '' : v === null ? 'never' : String(v));
    setForm({
      offsets: o.reminderOffsetsDays ? o.reminderOffsetsDays.join(', ') : '',
      approval: text(o.approvalReminderDays),
      escalation: text(o.escalationDays),
      retention: text(o.retentionDays),
    });
  }, [policy.data]);
  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    const body: Record<string, unknown> = {};
    if (form.offsets.trim() !== '')
      body.reminderOffsetsDays = form.offsets
        .split(/[,\s]+/)
        .filter(Boolean)
        .map((n) => Number(n));
    const approval = days(form.approval);
    if (approval !== undefined) body.approvalReminderDays = approval;
    const escalation = days(form.escalation);
    if (escalation !== undefined) body.escalationDays = escalation;
    const retention = days(form.retention);
    if (retention !== undefined) body.retentionDays = retention;
    try {
      await put(url, body);
      onNotice('Saved the lifecycle policy.');
      policy.reload();
    } catch (e) {
      setError(e);
    }
  };
  const reset = async () => {
    setError(undefined);
    try {
      await del(url);
      onNotice("The source follows the tenant's lifecycle policy.");
      policy.reload();
    } catch (e) {
      setError(e);
    }
  };
  const effective = policy.data?.effective;
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const named = ['reminderOffsetsDays', 'approvalReminderDays', 'escalationDays', 'retentionDays'].some((f) => causeFor(error, f));
  return (
    <section aria-labelledby="policy-heading">
      <h2 id="policy-heading">Lifecycle policy</h2>
      <p class="help">A field left empty follows the tenant's policy (its value in effect is shown beside it).</p>
      <ErrorMessage error={policy.error} />
      {effective ? (
        <form onSubmit={save} noValidate data-ready="true">
          <Field
            label="Reminders before the end date (days)"
            error={causeFor(error, 'reminderOffsetsDays')}
            help={`Up to 5 numbers from 1 to 365, separated by commas. In effect: ${effective.reminderOffsetsDays.join(', ') || 'none'}.`}
          >
            {({ id, describedBy, invalid }) => (
              <input id={id} inputMode="numeric" value={form.offsets} aria-describedby={describedBy} aria-invalid={invalid} onInput={set('offsets')} />
            )}
          </Field>
          <Field
            label="Approval reminder after (days)"
            error={causeFor(error, 'approvalReminderDays')}
            help={`1 to 90 days a pending approval waits before its approver is reminded. In effect: ${effective.approvalReminderDays}.`}
          >
            {({ id, describedBy, invalid }) => (
              <input id={id} inputMode="numeric" value={form.approval} aria-describedby={describedBy} aria-invalid={invalid} onInput={set('approval')} />
            )}
          </Field>
          <Field
            label="Escalation after (days)"
            error={causeFor(error, 'escalationDays')}
            help={`1 to 365, more than the approval reminder, or "never": a pending approval goes to the source's owner. In effect: ${effective.escalationDays ?? 'never'}.`}
          >
            {({ id, describedBy, invalid }) => (
              <input id={id} value={form.escalation} aria-describedby={describedBy} aria-invalid={invalid} onInput={set('escalation')} />
            )}
          </Field>
          <Field
            label="Delete expired records after (days)"
            error={causeFor(error, 'retentionDays')}
            help={`1 to 3,650 days after the end date, or "never". In effect: ${effective.retentionDays ?? 'never'}.`}
          >
            {({ id, describedBy, invalid }) => (
              <input id={id} value={form.retention} aria-describedby={describedBy} aria-invalid={invalid} onInput={set('retention')} />
            )}
          </Field>
          {error && !named ? <ErrorMessage error={error} /> : null}
          {error && named ? (
            <p class="error" role="alert">
              The policy was not saved: see the fields.
            </p>
          ) : null}
          <div class="actions">
            <button type="submit" class="primary">
              Save policy
            </button>
            <button type="button" onClick={() => void reset()}>
              Follow the tenant's policy
            </button>
          </div>
        </form>
      ) : policy.loading ? (
        <Loading what="the lifecycle policy" />
      ) : null}
    </section>
  );
}

function People({ label, refs }: { label: string; refs: SourceRow['approvers'] }) {
  const [names, setNames] = useState<Chosen[]>([]);
  useEffect(() => {
    const unnamed = refs.map((r) => ({ ...r, name: r.id }));
    setNames(unnamed);
    void namesOf(refs.map((r) => r.id)).then(
      (found) => setNames(withNames(found)(unnamed)),
      () => undefined,
    );
  }, [refs]);
  return (
    <>
      <dt>{label}</dt>
      <dd>{refs.length === 0 ? 'None' : names.map((n) => n.name).join(' → ')}</dd>
    </>
  );
}

function Source({ params }: { params: Record<string, string> }) {
  const { me } = useMe();
  const id = params.id!;
  const source = useLoad(async () => (await get<SourceRow>(`/v3/non-employee-sources/${id}`)).data, id);
  const [dialog, setDialog] = useState<'edit' | 'delete'>();
  const [notice, setNotice] = useState('');
  const s = source.data;
  return (
    <>
      <p>
        <Link href={`${BASE}/sources`}>All sources</Link>
      </p>
      <ErrorMessage error={source.error} />
      {source.loading && !s ? <Loading what="the source" /> : null}
      {s ? (
        <>
          <div class="heading">
            <h1>{s.name}</h1>
            <div class="actions">
              {hasRight(me, 'idn:nesr:update') ? (
                <button type="button" onClick={() => setDialog('edit')}>
                  Edit source
                </button>
              ) : null}
              {hasRight(me, 'idn:nesr:delete') ? (
                <button type="button" class="danger" onClick={() => setDialog('delete')}>
                  Delete source
                </button>
              ) : null}
            </div>
          </div>
          <p class="notice" role="status">
            {notice}
          </p>
          <dl class="facts">
            <dt>Description</dt>
            <dd>{s.description || '—'}</dd>
            <People label="Approvers" refs={s.approvers} />
            <People label="Account managers" refs={s.accountManagers} />
            <dt>Created</dt>
            <dd>{when(s.created)}</dd>
          </dl>
          <Attributes sourceId={s.id} onNotice={setNotice} />
          {me.identity.admin ? <LifecyclePolicy sourceId={s.id} onNotice={setNotice} /> : null}
          {dialog === 'edit' ? (
            <SourceDialog
              source={s}
              onClose={() => setDialog(undefined)}
              onSaved={() => {
                setDialog(undefined);
                setNotice('Saved the source.');
                source.reload();
              }}
            />
          ) : null}
          {dialog === 'delete' ? (
            <DeleteSourceDialog
              source={s}
              onClose={() => setDialog(undefined)}
              onDeleted={() => {
                setFlash(`Deleted the source ${s.name}.`);
                navigate(`${BASE}/sources`);
              }}
            />
          ) : null}
        </>
      ) : null}
    </>
  );
}

export const sourcePage: PageDef = {
  path: '/sources/:id',
  title: 'Source',
  visible: canManageSources,
  component: Source,
};
