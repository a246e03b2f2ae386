/**
 * Admin (org admins): identities (add, edit, rights, passwords, API clients), governance groups,
 * webhooks and the audit trail, one tab each, all through the admin API (`/admin/v1`).
 */
import { useState } from 'preact/hooks';
import { del, get, page, patch, post, put } from '../api';
import type { PageDef } from '../pages';
import { causeFor } from '../people';
import { navigate, setQuery, useLocation } from '../router';
import { Dialog, ErrorMessage, Field, Loading, Pager, useLoad, when } from '../ui';
import { AuditTab, GroupsTab } from './admin-groups';
import { WebhooksTab } from './admin-webhooks';

interface Identity {
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
  admin: boolean;
  rights: string[];
}

const RIGHTS = [
  ['idn:nesr:read', 'Read every source and record'],
  ['idn:nesr:create', 'Create records, requests, attributes; import'],
  ['idn:nesr:update', 'Change sources, attributes and records'],
  ['idn:nesr:delete', 'Delete sources, attributes and records'],
] as const;
const LIMIT = 25;

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

function IdentityDialog({ identity, onClose, onSaved }: { identity?: Identity; onClose(): void; onSaved(identity: Identity): void }) {
  const [alias, setAlias] = useState(identity?.alias ?? '');
  const [name, setName] = useState(identity?.name ?? '');
  const [email, setEmail] = useState(identity?.email ?? '');
  const [admin, setAdmin] = useState(identity?.admin ?? false);
  const [rights, setRights] = useState<string[]>(identity?.rights ?? []);
  const [error, setError] = useState<unknown>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    const body = { name: name.trim() || null, email: email.trim() || null, admin, rights };
    try {
      const saved = identity
        ? await patch<Identity>(`/admin/v1/identities/${identity.id}`, body)
        : await post<Identity>('/admin/v1/identities', { alias, ...body });
      onSaved(saved.data);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Dialog title={identity ? `Edit ${identity.alias}` : 'New identity'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        {identity ? null : (
          <Field
            label="Alias"
            required
            error={causeFor(error, 'alias')}
            help="The username: letters, digits and . _ @ + -, unique. It cannot be changed afterwards."
          >
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                value={alias}
                autoComplete="off"
                aria-describedby={describedBy}
                aria-invalid={invalid}
                onInput={(e) => setAlias(e.currentTarget.value)}
              />
            )}
          </Field>
        )}
        <Field label="Name" error={causeFor(error, 'name')}>
          {({ id, describedBy, invalid }) => (
            <input id={id} value={name} aria-describedby={describedBy} aria-invalid={invalid} onInput={(e) => setName(e.currentTarget.value)} />
          )}
        </Field>
        <Field label="Email" error={causeFor(error, 'email')} help="Where mails to this person go; a person may also sign in with it.">
          {({ id, describedBy, invalid }) => (
            <input id={id} type="email" value={email} aria-describedby={describedBy} aria-invalid={invalid} onInput={(e) => setEmail(e.currentTarget.value)} />
          )}
        </Field>
        <fieldset class="chooser">
          <legend>Rights</legend>
          <label class="check">
            <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} /> Org admin (every right, and this admin page)
          </label>
          {RIGHTS.map(([right, text]) => (
            <label class="check" key={right}>
              <input
                type="checkbox"
                checked={admin || rights.includes(right)}
                disabled={admin}
                onChange={(e) => setRights(e.currentTarget.checked ? [...rights, right] : rights.filter((r) => r !== right))}
              />{' '}
              {text} <code>{right}</code>
            </label>
          ))}
          {causeFor(error, 'rights') ? <p class="field-error">{causeFor(error, 'rights')}</p> : null}
        </fieldset>
        <FormError error={error} fields={['alias', 'name', 'email', 'rights']} what="identity" />
        <div class="actions">
          <button type="submit" class="primary">
            {identity ? 'Save identity' : 'Add identity'}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function PasswordDialog({ identity, onClose, onSaved }: { identity: Identity; onClose(): void; onSaved(): void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  return (
    <Dialog title={`Set the password of ${identity.alias}`} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setError(undefined);
          try {
            await put(`/admin/v1/identities/${identity.id}/password`, { password });
            onSaved();
          } catch (e) {
            setError(e);
          }
        }}
        noValidate
      >
        <Field
          label="New password"
          required
          error={causeFor(error, 'password')}
          help="At least 12 characters, neither a common password nor the person's name. Their console sessions end."
        >
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type="password"
              autoComplete="new-password"
              value={password}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          )}
        </Field>
        <FormError error={error} fields={['password']} what="password" />
        <div class="actions">
          <button type="submit" class="primary">
            Set password
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ClientsDialog({ identity, onClose }: { identity: Identity; onClose(): void }) {
  const clients = useLoad(async () => (await get<{ clientId: string; created: string }[]>(`/admin/v1/identities/${identity.id}/clients`)).data, identity.id);
  const [secret, setSecret] = useState<{ clientId: string; clientSecret: string }>();
  const [error, setError] = useState<unknown>();
  return (
    <Dialog title={`API clients of ${identity.alias}`} onClose={onClose}>
      <p class="help">A program signs in as {identity.alias} with a client id and secret (OAuth client credentials).</p>
      {secret ? (
        <div class="card" role="status">
          <p>
            <strong>Copy the secret now: it is not shown again.</strong>
          </p>
          <dl class="facts">
            <dt>Client id</dt>
            <dd class="secret">
              <code>{secret.clientId}</code>
            </dd>
            <dt>Client secret</dt>
            <dd class="secret">
              <code data-testid="client-secret">{secret.clientSecret}</code>
            </dd>
          </dl>
        </div>
      ) : null}
      <ErrorMessage error={clients.error ?? error} />
      {clients.data ? (
        clients.data.length === 0 ? (
          <p>No API clients.</p>
        ) : (
          <ul class="plain">
            {clients.data.map((c) => (
              <li key={c.clientId}>
                <code>{c.clientId}</code> <span class="muted">made {when(c.created)}</span>{' '}
                <button
                  type="button"
                  aria-label={`Delete the client ${c.clientId}`}
                  onClick={async () => {
                    setError(undefined);
                    try {
                      await del(`/admin/v1/clients/${c.clientId}`);
                      if (secret?.clientId === c.clientId) setSecret(undefined);
                      clients.reload();
                    } catch (e) {
                      setError(e);
                    }
                  }}
                >
                  Delete
                </button>
              </li>
            ))}
          </ul>
        )
      ) : (
        <Loading what="API clients" />
      )}
      <div class="actions">
        <button
          type="button"
          class="primary"
          onClick={async () => {
            setError(undefined);
            try {
              setSecret((await post<{ clientId: string; clientSecret: string }>(`/admin/v1/identities/${identity.id}/clients`)).data);
              clients.reload();
            } catch (e) {
              setError(e);
            }
          }}
        >
          Create API client
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

function IdentitiesTab({ onNotice }: { onNotice(text: string): void }) {
  const { query } = useLocation();
  const offset = Number(query.get('offset') ?? 0) || 0;
  const list = useLoad(() => page<Identity>('/admin/v1/identities', { limit: LIMIT, offset }), String(offset));
  const [dialog, setDialog] = useState<{ kind: 'new' } | { kind: 'edit' | 'password' | 'clients'; identity: Identity }>();
  const close = () => setDialog(undefined);
  return (
    <>
      <div class="heading">
        <h2>Identities</h2>
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'new' })}>
          Add identity
        </button>
      </div>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="identities" /> : null}
      {list.data ? (
        <div class="table-wrap" data-ready={list.loading ? undefined : 'true'}>
          <table>
            <caption class="visually-hidden">Identities, by alias</caption>
            <thead>
              <tr>
                <th scope="col">Alias</th>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Rights</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((identity) => (
                <tr key={identity.id}>
                  <td>{identity.alias}</td>
                  <td>{identity.name}</td>
                  <td>{identity.email}</td>
                  <td>{identity.admin ? 'Org admin' : identity.rights.map((r) => r.replace('idn:nesr:', '')).join(', ') || 'None'}</td>
                  <td class="row-actions">
                    <button type="button" aria-label={`Edit ${identity.alias}`} onClick={() => setDialog({ kind: 'edit', identity })}>
                      Edit
                    </button>
                    <button type="button" aria-label={`Set the password of ${identity.alias}`} onClick={() => setDialog({ kind: 'password', identity })}>
                      Password
                    </button>
                    <button type="button" aria-label={`API clients of ${identity.alias}`} onClick={() => setDialog({ kind: 'clients', identity })}>
                      API clients
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {list.data ? <Pager label="Identities" total={list.data.total} limit={LIMIT} offset={offset} onOffset={(o) => setQuery({ offset: o })} /> : null}
      {dialog?.kind === 'new' || dialog?.kind === 'edit' ? (
        <IdentityDialog
          identity={dialog.kind === 'edit' ? dialog.identity : undefined}
          onClose={close}
          onSaved={(saved) => {
            close();
            onNotice(`Saved the identity ${saved.alias}.`);
            list.reload();
          }}
        />
      ) : null}
      {dialog?.kind === 'password' ? (
        <PasswordDialog
          identity={dialog.identity}
          onClose={close}
          onSaved={() => {
            close();
            onNotice(`Set the password of ${dialog.identity.alias}.`);
          }}
        />
      ) : null}
      {dialog?.kind === 'clients' ? <ClientsDialog identity={dialog.identity} onClose={close} /> : null}
    </>
  );
}

const TABS = [
  { key: 'identities', label: 'Identities' },
  { key: 'groups', label: 'Governance groups' },
  { key: 'webhooks', label: 'Webhooks' },
  { key: 'audit', label: 'Audit trail' },
] as const;

function Admin() {
  const { query } = useLocation();
  const tab = TABS.find((t) => t.key === query.get('tab')) ?? TABS[0];
  const [notice, setNotice] = useState('');
  return (
    <>
      <h1>Admin</h1>
      <div role="tablist" aria-label="Admin" class="tabs">
        {TABS.map((t) => (
          <button
            key={t.key}
            type="button"
            role="tab"
            aria-selected={t.key === tab.key}
            onClick={() => {
              setNotice('');
              navigateTab(t.key);
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <p class="notice" role="status">
        {notice}
      </p>
      <section role="tabpanel" aria-label={tab.label}>
        {tab.key === 'identities' ? <IdentitiesTab onNotice={setNotice} /> : null}
        {tab.key === 'groups' ? <GroupsTab onNotice={setNotice} /> : null}
        {tab.key === 'webhooks' ? <WebhooksTab onNotice={setNotice} /> : null}
        {tab.key === 'audit' ? <AuditTab /> : null}
      </section>
    </>
  );
}

/** A tab is the `tab` parameter; the other tabs' parameters (paging, filters) are dropped. */
function navigateTab(key: string): void {
  const url = key === 'identities' ? location.pathname : `${location.pathname}?tab=${key}`;
  navigate(url);
}

export const adminPage: PageDef = {
  path: '/admin',
  title: 'Admin',
  nav: 'Admin',
  visible: (me) => me.identity.admin,
  component: Admin,
};
