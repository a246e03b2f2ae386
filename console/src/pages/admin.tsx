/**
 * Admin (org admins): identities (add, edit, rights, passwords, API clients), governance groups,
 * webhooks and the audit trail, one tab each, all through the admin API (`/admin/v1`).
 */
import { useState } from 'preact/hooks';
import { del, get, page, patch, post, put } from '../api';
import type { PageDef } from '../pages';
import { causeFor } from '../people';
import { navigate, setQuery, useLocation } from '../router';
import { FormDialog, Table, Tabs, TextField, useAttempt } from '../forms';
import { Dialog, ErrorMessage, Loading, Pager, useLoad, when } from '../ui';
import { AuditTab, GroupsTab } from './admin-groups';
import { WebhooksTab } from './admin-webhooks';

interface Identity {
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
  admin: boolean;
  rights: string[];
  disabled: boolean;
}

const RIGHTS = [
  ['idn:nesr:read', 'Read every source and record'],
  ['idn:nesr:create', 'Create records, requests, attributes; import'],
  ['idn:nesr:update', 'Change sources, attributes and records'],
  ['idn:nesr:delete', 'Delete sources, attributes and records'],
] as const;
const LIMIT = 25;

function IdentityDialog({ identity, onClose, onSaved }: { identity?: Identity; onClose(): void; onSaved(identity: Identity): void }) {
  const [alias, setAlias] = useState(identity?.alias ?? '');
  const [name, setName] = useState(identity?.name ?? '');
  const [email, setEmail] = useState(identity?.email ?? '');
  const [admin, setAdmin] = useState(identity?.admin ?? false);
  const [rights, setRights] = useState<string[]>(identity?.rights ?? []);
  return (
    <FormDialog
      title={identity ? `Edit ${identity.alias}` : 'New identity'}
      submit={identity ? 'Save identity' : 'Add identity'}
      what="identity"
      fields={['alias', 'name', 'email', 'rights']}
      onClose={onClose}
      onSubmit={async () => {
        const body = { name: name.trim() || null, email: email.trim() || null, admin, rights };
        const saved = identity
          ? await patch<Identity>(`/admin/v1/identities/${identity.id}`, body)
          : await post<Identity>('/admin/v1/identities', { alias, ...body });
        onSaved(saved.data);
      }}
    >
      {(error) => (
        <>
          {identity ? null : (
            <TextField
              label="Alias"
              required
              autoComplete="off"
              value={alias}
              onValue={setAlias}
              error={causeFor(error, 'alias')}
              help="The username: letters, digits and . _ @ + -, unique. It cannot be changed afterwards."
            />
          )}
          <TextField label="Name" value={name} onValue={setName} error={causeFor(error, 'name')} />
          <TextField
            label="Email"
            type="email"
            value={email}
            onValue={setEmail}
            error={causeFor(error, 'email')}
            help="Where mails to this person go; a person may also sign in with it."
          />
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
        </>
      )}
    </FormDialog>
  );
}

function PasswordDialog({ identity, onClose, onSaved }: { identity: Identity; onClose(): void; onSaved(): void }) {
  const [password, setPassword] = useState('');
  return (
    <FormDialog
      title={`Set the password of ${identity.alias}`}
      submit="Set password"
      what="password"
      fields={['password']}
      onClose={onClose}
      onSubmit={async () => {
        await put(`/admin/v1/identities/${identity.id}/password`, { password });
        onSaved();
      }}
    >
      {(error) => (
        <TextField
          label="New password"
          type="password"
          required
          autoComplete="new-password"
          value={password}
          onValue={setPassword}
          error={causeFor(error, 'password')}
          help="At least 12 characters, neither a common password nor the person's name. Their console sessions end."
        />
      )}
    </FormDialog>
  );
}

function ClientsDialog({ identity, onClose }: { identity: Identity; onClose(): void }) {
  const clients = useLoad(async () => (await get<{ clientId: string; created: string }[]>(`/admin/v1/identities/${identity.id}/clients`)).data, identity.id);
  const [secret, setSecret] = useState<{ clientId: string; clientSecret: string }>();
  const attempt = useAttempt();
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
      <ErrorMessage error={clients.error ?? attempt.error} />
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
                  onClick={() =>
                    void attempt.run(async () => {
                      await del(`/admin/v1/clients/${c.clientId}`);
                      if (secret?.clientId === c.clientId) setSecret(undefined);
                      clients.reload();
                    })
                  }
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
          onClick={() =>
            void attempt.run(async () => {
              setSecret((await post<{ clientId: string; clientSecret: string }>(`/admin/v1/identities/${identity.id}/clients`)).data);
              clients.reload();
            })
          }
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
  const attempt = useAttempt();
  const toggle = (identity: Identity) =>
    attempt.run(async () => {
      await patch(`/admin/v1/identities/${identity.id}`, { disabled: !identity.disabled });
      onNotice(`${identity.disabled ? 'Enabled' : 'Disabled'} the identity ${identity.alias}.`);
      list.reload();
    });
  return (
    <>
      <div class="heading">
        <h2>Identities</h2>
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'new' })}>
          Add identity
        </button>
      </div>
      <ErrorMessage error={list.error ?? attempt.error} />
      {list.loading && !list.data ? <Loading what="identities" /> : null}
      {list.data ? (
        <div class="table-wrap" data-ready={list.loading ? undefined : 'true'}>
          <Table caption="Identities, by alias" columns={['Alias', 'Name', 'Email', 'Rights', 'State']} actions count={list.data.items.length}>
            {list.data.items.map((identity) => (
              <tr key={identity.id}>
                <td>{identity.alias}</td>
                <td>{identity.name}</td>
                <td>{identity.email}</td>
                <td>{identity.admin ? 'Org admin' : identity.rights.map((r) => r.replace('idn:nesr:', '')).join(', ') || 'None'}</td>
                <td>{identity.disabled ? 'Disabled' : 'Enabled'}</td>
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
                  <button type="button" aria-label={`${identity.disabled ? 'Enable' : 'Disable'} ${identity.alias}`} onClick={() => void toggle(identity)}>
                    {identity.disabled ? 'Enable' : 'Disable'}
                  </button>
                </td>
              </tr>
            ))}
          </Table>
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
      <Tabs
        label="Admin"
        tabs={TABS}
        current={tab.key}
        onSelect={(key) => {
          setNotice('');
          navigateTab(key);
        }}
      />
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
