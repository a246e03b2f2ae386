/**
 * Sources (org admins and those with the update or delete right): the list, sorted and paged by
 * the API; create (org admins), edit (JSON Patch of name, description, approvers and account
 * managers) and delete.
 */
import { useEffect, useState } from 'preact/hooks';
import { del, page, patch, post } from '../api';
import type { PageDef } from '../pages';
import { causeFor, type Chosen, namesOf, PeopleChooser, withNames } from '../people';
import { BASE, setQuery, useLocation } from '../router';
import { hasRight, type Me, useMe } from '../session';
import { FormDialog, SortableHeader, Table, TextField } from '../forms';
import { Dialog, ErrorMessage, Link, Loading, Pager, takeFlash, useDebounced, useLoad, when } from '../ui';

export interface SourceRow {
  id: string;
  sourceId: string;
  name: string;
  description: string;
  approvers: { id: string; type: 'IDENTITY' | 'GOVERNANCE_GROUP' }[];
  accountManagers: { id: string; type: 'IDENTITY' | 'GOVERNANCE_GROUP' }[];
  created: string;
  modified: string;
  nonEmployeeCount?: number | null;
}

const LIMIT = 25;
export const APPROVERS_HELP =
  'Up to 3, in order: each level approves in turn, the first first. An identity or a governance group (any of its members decides for it); each once.';
export const MANAGERS_HELP = 'Up to 10 identities or governance groups who request non-employees for this source and see its records.';

export const canManageSources = (me: Me) => me.identity.admin || hasRight(me, 'idn:nesr:update') || hasRight(me, 'idn:nesr:delete');

/** Create (no `source`) or edit a source in a dialog; calls `onSaved` with the saved source. */
export function SourceDialog({ source, onClose, onSaved }: { source?: SourceRow; onClose(): void; onSaved(source: SourceRow): void }) {
  const [name, setName] = useState(source?.name ?? '');
  const [description, setDescription] = useState(source?.description ?? '');
  const [owner, setOwner] = useState<Chosen[]>([]);
  // The source's people at once (by id), their names as they are read: a save never drops them.
  const [approvers, setApprovers] = useState<Chosen[]>(() => (source?.approvers ?? []).map((r) => ({ ...r, name: r.id })));
  const [managers, setManagers] = useState<Chosen[]>(() => (source?.accountManagers ?? []).map((r) => ({ ...r, name: r.id })));
  const [namesError, setNamesError] = useState<unknown>();
  useEffect(() => {
    if (!source) return;
    void namesOf([...source.approvers, ...source.accountManagers].map((r) => r.id)).then((found) => {
      setApprovers(withNames(found));
      setManagers(withNames(found));
    }, setNamesError);
  }, [source]);
  const refs = (list: Chosen[]) => list.map((c) => ({ id: c.id }));
  const submit = async () => {
    const saved = source
      ? await patch<SourceRow>(`/v3/non-employee-sources/${source.id}`, [
          { op: 'replace', path: '/name', value: name },
          { op: 'replace', path: '/description', value: description },
          { op: 'replace', path: '/approvers', value: refs(approvers) },
          { op: 'replace', path: '/accountManagers', value: refs(managers) },
        ])
      : await post<SourceRow>('/v3/non-employee-sources', {
          name,
          description,
          owner: owner[0] ? { id: owner[0].id } : undefined,
          approvers: refs(approvers),
          accountManagers: refs(managers),
        });
    onSaved(saved.data);
  };
  return (
    <FormDialog
      title={source ? `Edit ${source.name}` : 'New source'}
      submit={source ? 'Save source' : 'Create source'}
      what="source"
      fields={['name', 'description', 'owner', 'approvers', 'accountManagers']}
      onClose={onClose}
      onSubmit={submit}
    >
      {(error) => (
        <>
          <ErrorMessage error={namesError} />
          <TextField
            label="Name"
            required
            maxLength={128}
            value={name}
            onValue={setName}
            error={causeFor(error, 'name')}
            help="Up to 128 characters, unique among the sources."
          />
          <TextField
            label="Description"
            multiline
            maxLength={2000}
            value={description}
            onValue={setDescription}
            error={causeFor(error, 'description')}
            help="Up to 2,000 characters."
          />
          {source ? null : (
            <PeopleChooser
              label="Owner"
              help="One identity: the source's owner may request non-employees for it and change their end dates. It cannot be changed afterwards."
              max={1}
              groups={false}
              value={owner}
              onChange={setOwner}
              error={causeFor(error, 'owner')}
            />
          )}
          <PeopleChooser
            label="Approvers"
            help={APPROVERS_HELP}
            max={3}
            groups
            ordered
            value={approvers}
            onChange={setApprovers}
            error={causeFor(error, 'approvers')}
          />
          <PeopleChooser
            label="Account managers"
            help={MANAGERS_HELP}
            max={10}
            groups
            value={managers}
            onChange={setManagers}
            error={causeFor(error, 'accountManagers')}
          />
        </>
      )}
    </FormDialog>
  );
}

/** Asks before deleting a source (and everything in it). */
export function DeleteSourceDialog({ source, onClose, onDeleted }: { source: SourceRow; onClose(): void; onDeleted(): void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={`Delete ${source.name}?`} onClose={onClose}>
      <p>Its schema attributes, records, requests and everything else that belongs to it are deleted with it.</p>
      <ErrorMessage error={error} />
      <div class="actions">
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await del(`/v3/non-employee-sources/${source.id}`);
              onDeleted();
            } catch (e) {
              setError(e);
              setBusy(false);
            }
          }}
        >
          Delete source
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

function Sources() {
  const { me } = useMe();
  const { query } = useLocation();
  const offset = Number(query.get('offset') ?? 0) || 0;
  const sort = query.get('sort') ?? 'name';
  const [search, setSearch] = useState(query.get('q') ?? '');
  const settled = useDebounced(search.trim().toLowerCase(), 250);
  const [dialog, setDialog] = useState<{ kind: 'new' } | { kind: 'edit' | 'delete'; source: SourceRow }>();
  const [notice, setNotice] = useState(() => takeFlash());
  // The API lists sources without a filter (at most 50 per tenant): a search reads them all.
  const list = useLoad(
    () =>
      settled
        ? page<SourceRow>('/v3/non-employee-sources', { limit: 250, offset: 0, sorters: sort, 'non-employee-count': true }).then((all) => {
            const items = all.items.filter((s) => s.name.toLowerCase().includes(settled) || s.description.toLowerCase().includes(settled));
            return { items: items.slice(offset, offset + LIMIT), total: items.length };
          })
        : page<SourceRow>('/v3/non-employee-sources', { limit: LIMIT, offset, sorters: sort, 'non-employee-count': true }),
    `${offset}:${sort}:${settled}`,
  );
  return (
    <>
      <div class="heading">
        <h1>Sources</h1>
        {me.identity.admin ? (
          <button type="button" class="primary" onClick={() => setDialog({ kind: 'new' })}>
            New source
          </button>
        ) : null}
      </div>
      <p class="notice" role="status">
        {notice}
      </p>
      <search class="toolbar">
        <label>
          Search{' '}
          <input
            type="search"
            placeholder="Name or description"
            value={search}
            onInput={(e) => {
              setSearch(e.currentTarget.value);
              if (offset) setQuery({ offset: undefined }, true);
            }}
          />
        </label>
      </search>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="sources" /> : null}
      {list.data ? (
        <div class="table-wrap" data-ready={list.loading ? undefined : 'true'} aria-busy={list.loading}>
          <Table
            caption="Non-employee sources"
            columns={[
              <SortableHeader key="name" field="name" label="Name" sort={sort} />,
              'Approvers',
              'Account managers',
              'Records',
              <SortableHeader key="created" field="created" label="Created" sort={sort} />,
            ]}
            actions
            empty="No sources match."
            count={list.data.items.length}
          >
            {list.data.items.map((source) => (
              <tr key={source.id}>
                <td>
                  <Link href={`${BASE}/sources/${source.id}`}>{source.name}</Link>
                  {source.description ? <p class="muted">{source.description}</p> : null}
                </td>
                <td>{source.approvers.length}</td>
                <td>{source.accountManagers.length}</td>
                <td>{source.nonEmployeeCount ?? ''}</td>
                <td>{when(source.created)}</td>
                <td class="row-actions">
                  {hasRight(me, 'idn:nesr:update') ? (
                    <button type="button" onClick={() => setDialog({ kind: 'edit', source })} aria-label={`Edit ${source.name}`}>
                      Edit
                    </button>
                  ) : null}
                  {hasRight(me, 'idn:nesr:delete') ? (
                    <button type="button" onClick={() => setDialog({ kind: 'delete', source })} aria-label={`Delete ${source.name}`}>
                      Delete
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      ) : null}
      {list.data ? <Pager label="Sources" total={list.data.total} limit={LIMIT} offset={offset} onOffset={(o) => setQuery({ offset: o })} /> : null}
      {dialog?.kind === 'new' || dialog?.kind === 'edit' ? (
        <SourceDialog
          source={dialog.kind === 'edit' ? dialog.source : undefined}
          onClose={() => setDialog(undefined)}
          onSaved={(saved) => {
            setDialog(undefined);
            setNotice(`Saved the source ${saved.name}.`);
            list.reload();
          }}
        />
      ) : null}
      {dialog?.kind === 'delete' ? (
        <DeleteSourceDialog
          source={dialog.source}
          onClose={() => setDialog(undefined)}
          onDeleted={() => {
            setDialog(undefined);
            setNotice(`Deleted the source ${dialog.source.name}.`);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}

export const sourcesPage: PageDef = {
  path: '/sources',
  title: 'Sources',
  nav: 'Sources',
  visible: canManageSources,
  component: Sources,
};
