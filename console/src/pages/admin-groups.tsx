/** The Admin page's governance groups (`/admin/v1/workgroups`) and audit trail (`/admin/v1/audit-events`). */
import { useEffect, useState } from 'preact/hooks';
import { del, page, patch, post, quote, withQuery } from '../api';
import { ScrollRegion } from '../region';
import { causeFor, type Chosen, namesOf, PeopleChooser, withNames } from '../people';
import { setQuery, useLocation } from '../router';
import { FormDialog, Table, TextField, useAttempt } from '../forms';
import { ErrorMessage, Field, Loading, Pager, useLoad, when } from '../ui';

interface Group {
  id: string;
  name: string;
  description: string | null;
  members: string[];
}

const LIMIT = 25;

function GroupDialog({ group, onClose, onSaved }: { group?: Group; onClose(): void; onSaved(group: Group): void }) {
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  const [members, setMembers] = useState<Chosen[]>(() => (group?.members ?? []).map((id) => ({ id, type: 'IDENTITY' as const, name: id })));
  const [namesError, setNamesError] = useState<unknown>();
  useEffect(() => {
    if (group) void namesOf(group.members).then((found) => setMembers(withNames(found)), setNamesError);
  }, [group]);
  return (
    <FormDialog
      title={group ? `Edit ${group.name}` : 'New governance group'}
      submit={group ? 'Save group' : 'Create group'}
      what="group"
      fields={['name', 'description', 'members']}
      onClose={onClose}
      onSubmit={async () => {
        const body = { name, description: description.trim() || null, members: members.map((m) => m.id) };
        onSaved((group ? await patch<Group>(`/admin/v1/workgroups/${group.id}`, body) : await post<Group>('/admin/v1/workgroups', body)).data);
      }}
    >
      {(error) => (
        <>
          <ErrorMessage error={namesError} />
          <TextField label="Name" required value={name} onValue={setName} error={causeFor(error, 'name')} help="Unique among the governance groups." />
          <TextField label="Description" multiline value={description} onValue={setDescription} error={causeFor(error, 'description')} />
          <PeopleChooser
            label="Members"
            help="Up to 1,000 identities. Where a source names the group as approver or account manager, any member acts for it."
            max={1000}
            groups={false}
            value={members}
            onChange={setMembers}
            error={causeFor(error, 'members')}
          />
        </>
      )}
    </FormDialog>
  );
}

export function GroupsTab({ onNotice }: { onNotice(text: string): void }) {
  const { query } = useLocation();
  const offset = Number(query.get('offset') ?? 0) || 0;
  const list = useLoad(() => page<Group>('/admin/v1/workgroups', { limit: LIMIT, offset }), String(offset));
  const [dialog, setDialog] = useState<{ group?: Group }>();
  const attempt = useAttempt();
  return (
    <>
      <div class="heading">
        <h2>Governance groups</h2>
        <button type="button" class="primary" onClick={() => setDialog({})}>
          New governance group
        </button>
      </div>
      <ErrorMessage error={list.error ?? attempt.error} />
      {list.loading && !list.data ? <Loading what="governance groups" /> : null}
      {list.data ? (
        <div class="table-wrap" data-ready={list.loading ? undefined : 'true'}>
          <Table caption="Governance groups, by name" columns={['Name', 'Members']} actions empty="No governance groups." count={list.data.items.length}>
            {list.data.items.map((group) => (
              <tr key={group.id}>
                <td>
                  {group.name}
                  {group.description ? <p class="muted">{group.description}</p> : null}
                </td>
                <td>{group.members.length}</td>
                <td class="row-actions">
                  <button type="button" aria-label={`Edit ${group.name}`} onClick={() => setDialog({ group })}>
                    Edit
                  </button>
                  <button
                    type="button"
                    aria-label={`Delete ${group.name}`}
                    onClick={() =>
                      void attempt.run(async () => {
                        await del(`/admin/v1/workgroups/${group.id}`);
                        onNotice(`Deleted the governance group ${group.name}.`);
                        list.reload();
                      })
                    }
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </Table>
        </div>
      ) : null}
      {list.data ? <Pager label="Governance groups" total={list.data.total} limit={LIMIT} offset={offset} onOffset={(o) => setQuery({ offset: o })} /> : null}
      {dialog ? (
        <GroupDialog
          group={dialog.group}
          onClose={() => setDialog(undefined)}
          onSaved={(saved) => {
            setDialog(undefined);
            onNotice(`Saved the governance group ${saved.name}.`);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}

interface AuditEvent {
  id: string;
  seq: number;
  type: string;
  time: string;
  actor: { id: string; alias: string } | null;
  target: { type: string; id: string; sourceId: string | null };
}

/** The audit API's filter of the form's fields; a local date-time is read in the browser's zone. */
export function auditFilters(type: string, actorId: string, targetId: string, from: string, to: string): string | undefined {
  const parts: string[] = [];
  if (type.trim()) parts.push(type.trim().endsWith('.') || !type.includes('.') ? `type sw ${quote(type.trim())}` : `type eq ${quote(type.trim())}`);
  if (actorId) parts.push(`actorId eq ${quote(actorId)}`);
  if (targetId.trim()) parts.push(`targetId eq ${quote(targetId.trim())}`);
  if (from) parts.push(`time ge ${quote(new Date(from).toISOString())}`);
  if (to) parts.push(`time le ${quote(new Date(to).toISOString())}`);
  return parts.length ? parts.join(' and ') : undefined;
}

export function AuditTab() {
  const { query } = useLocation();
  const offset = Number(query.get('offset') ?? 0) || 0;
  const [form, setForm] = useState({
    type: query.get('type') ?? '',
    target: query.get('target') ?? '',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
  });
  const [actor, setActor] = useState<Chosen[]>([]);
  const [applied, setApplied] = useState<{ filters: string | undefined; error?: unknown }>({
    filters: auditFilters(form.type, '', form.target, form.from, form.to),
  });
  const list = useLoad(
    () => page<AuditEvent>('/admin/v1/audit-events', { limit: LIMIT, offset, sorters: '-time', filters: applied.filters }),
    `${offset}:${applied.filters}`,
  );
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  return (
    <>
      <h2>Audit trail</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied({ filters: auditFilters(form.type, actor[0]?.id ?? '', form.target, form.from, form.to) });
          setQuery({ ...form, offset: undefined }, true);
        }}
      >
        <div class="toolbar">
          <Field label="Type" help="An event type (source.updated) or its start (source.)">
            {({ id, describedBy }) => <input id={id} value={form.type} aria-describedby={describedBy} onInput={set('type')} />}
          </Field>
          <Field label="Target id">{({ id }) => <input id={id} value={form.target} onInput={set('target')} />}</Field>
          <Field label="From">{({ id }) => <input id={id} type="datetime-local" value={form.from} onInput={set('from')} />}</Field>
          <Field label="To">{({ id }) => <input id={id} type="datetime-local" value={form.to} onInput={set('to')} />}</Field>
        </div>
        <PeopleChooser label="Actor" help="Who made the change: one identity." max={1} groups={false} value={actor} onChange={setActor} />
        <div class="actions">
          <button type="submit" class="primary">
            Apply filters
          </button>
          <a class="button" href={withQuery('/admin/v1/audit-events/download', { filters: applied.filters })} download="audit-events.csv">
            Download as CSV
          </a>
        </div>
      </form>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="audit events" /> : null}
      {list.data ? (
        <ScrollRegion label="Audit events" ready={!list.loading}>
          <Table caption="Audit events, newest first" columns={['Time', 'Type', 'Actor', 'Target']} empty="No events match." count={list.data.items.length}>
            {list.data.items.map((event) => (
              <tr key={event.id}>
                <td>{when(event.time)}</td>
                <td>
                  <code>{event.type}</code>
                </td>
                <td>{event.actor?.alias ?? 'the server'}</td>
                <td>
                  {event.target.type} <code class="secret">{event.target.id}</code>
                </td>
              </tr>
            ))}
          </Table>
        </ScrollRegion>
      ) : null}
      {list.data ? <Pager label="Audit events" total={list.data.total} limit={LIMIT} offset={offset} onOffset={(o) => setQuery({ offset: o })} /> : null}
    </>
  );
}
