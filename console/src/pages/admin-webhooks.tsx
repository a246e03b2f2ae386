/** The Admin page's webhooks (`/admin/v1/webhooks`): register, test, enable or disable, delete, and each one's delivery log. */
import { useEffect, useState } from 'preact/hooks';
import { del, get, page, patch, post } from '../api';
import { ScrollRegion } from '../region';
import { causeFor } from '../people';
import { FormDialog, Table, TextField, useAttempt } from '../forms';
import { ErrorMessage, Loading, Pager, useLoad, when } from '../ui';

interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  created: string;
}

interface Delivery {
  id: string;
  eventType: string;
  status: 'PENDING' | 'RETRYING' | 'SUCCEEDED' | 'FAILED';
  nextAttemptAt: string | null;
  created: string;
  attempts: { number: number; time: string; durationMs: number; statusCode: number | null; error: string | null }[];
}

function WebhookDialog({ onClose, onSaved }: { onClose(): void; onSaved(hook: Webhook & { secret: string }): void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('*');
  const [description, setDescription] = useState('');
  return (
    <FormDialog
      title="New webhook"
      submit="Create webhook"
      what="webhook"
      fields={['url', 'events', 'description']}
      onClose={onClose}
      onSubmit={async () => {
        const body = {
          url: url.trim(),
          events: events
            .split(/[,\s]+/)
            .map((e) => e.trim())
            .filter(Boolean),
          ...(description.trim() ? { description: description.trim() } : {}),
        };
        onSaved((await post<Webhook & { secret: string }>('/admin/v1/webhooks', body)).data);
      }}
    >
      {(error) => (
        <>
          <TextField
            label="URL"
            type="url"
            required
            value={url}
            onValue={setUrl}
            error={causeFor(error, 'url')}
            help="Where events are POSTed: an https:// address on the internet."
          />
          <TextField
            label="Events"
            required
            value={events}
            onValue={setEvents}
            error={causeFor(error, 'events')}
            help="Event types separated by commas: record.created, every event of an object (record.*), or every event (*)."
          />
          <TextField label="Description" value={description} onValue={setDescription} error={causeFor(error, 'description')} />
        </>
      )}
    </FormDialog>
  );
}

function Deliveries({ hook, tick }: { hook: Webhook; tick: number }) {
  const [offset, setOffset] = useState(0);
  const list = useLoad(() => page<Delivery>(`/admin/v1/webhooks/${hook.id}/deliveries`, { limit: 10, offset }), `${hook.id}:${offset}:${tick}`);
  const waiting = list.data?.items.some((d) => d.status === 'PENDING') ?? false;
  // A delivery about to be sent: the log is read again until it has been.
  useEffect(() => {
    if (!waiting || list.loading) return;
    const timer = setTimeout(list.reload, 1000);
    return () => clearTimeout(timer);
  }, [waiting, list.loading, list.reload]);
  return (
    <section aria-label={`Delivery log of ${hook.url}`}>
      <h3>Delivery log</h3>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="deliveries" /> : null}
      {list.data ? (
        list.data.items.length === 0 ? (
          <p>Nothing was sent yet.</p>
        ) : (
          <ScrollRegion label={`Deliveries to ${hook.url}`} ready={!list.loading}>
            <Table caption={`Deliveries to ${hook.url}, newest first`} columns={['Created', 'Event', 'Status', 'Attempts']} count={list.data.items.length}>
              {list.data.items.map((d) => (
                <tr key={d.id}>
                  <td>{when(d.created)}</td>
                  <td>
                    <code>{d.eventType}</code>
                  </td>
                  <td>{d.status}</td>
                  <td>
                    <ol class="chain">
                      {d.attempts.map((a) => (
                        <li key={a.number}>
                          {when(a.time)}: {a.statusCode ?? a.error ?? 'no answer'} ({a.durationMs} ms)
                        </li>
                      ))}
                    </ol>
                    {d.nextAttemptAt ? <span class="muted">Next attempt {when(d.nextAttemptAt)}</span> : null}
                  </td>
                </tr>
              ))}
            </Table>
          </ScrollRegion>
        )
      ) : null}
      {list.data && list.data.total > 10 ? <Pager label="Deliveries" total={list.data.total} limit={10} offset={offset} onOffset={setOffset} /> : null}
    </section>
  );
}

function WebhookCard({ hook, onChanged, onNotice }: { hook: Webhook; onChanged(): void; onNotice(text: string): void }) {
  const [tick, setTick] = useState(0);
  const attempt = useAttempt();
  const act = (what: () => Promise<unknown>, done: string) =>
    attempt.run(async () => {
      await what();
      onNotice(done);
      setTick((n) => n + 1);
    });
  return (
    <article class="card" aria-labelledby={`hook-${hook.id}`}>
      <h2 id={`hook-${hook.id}`} class="secret">
        {hook.url}
      </h2>
      <dl class="facts">
        <dt>Events</dt>
        <dd>{hook.events.join(', ')}</dd>
        <dt>State</dt>
        <dd>{hook.enabled ? 'Enabled' : `Disabled${hook.disabledReason ? `: ${hook.disabledReason}` : ''}`}</dd>
        {hook.description ? (
          <>
            <dt>Description</dt>
            <dd>{hook.description}</dd>
          </>
        ) : null}
      </dl>
      <div class="actions">
        <button
          type="button"
          aria-label={`Test ${hook.url}`}
          onClick={() => void act(() => post(`/admin/v1/webhooks/${hook.id}/test`), `Sent a test message to ${hook.url}.`)}
        >
          Test
        </button>
        <button
          type="button"
          aria-label={`${hook.enabled ? 'Disable' : 'Enable'} ${hook.url}`}
          onClick={() =>
            void act(
              async () => {
                await patch(`/admin/v1/webhooks/${hook.id}`, { enabled: !hook.enabled });
                onChanged();
              },
              `${hook.enabled ? 'Disabled' : 'Enabled'} ${hook.url}.`,
            )
          }
        >
          {hook.enabled ? 'Disable' : 'Enable'}
        </button>
        <button
          type="button"
          aria-label={`Delete ${hook.url}`}
          onClick={() =>
            void act(async () => {
              await del(`/admin/v1/webhooks/${hook.id}`);
              onChanged();
            }, `Deleted ${hook.url}.`)
          }
        >
          Delete
        </button>
      </div>
      <ErrorMessage error={attempt.error} />
      <Deliveries hook={hook} tick={tick} />
    </article>
  );
}

export function WebhooksTab({ onNotice }: { onNotice(text: string): void }) {
  const list = useLoad(async () => (await get<Webhook[]>('/admin/v1/webhooks')).data, 'webhooks');
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ url: string; secret: string }>();
  return (
    <>
      <div class="heading">
        <h2>Webhooks</h2>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New webhook
        </button>
      </div>
      <p class="help">Each event of the audit trail whose type an endpoint asks for is POSTed to it, signed with its secret (Standard Webhooks).</p>
      {secret ? (
        <div class="card" role="status">
          <p>
            <strong>Copy the signing secret of {secret.url} now: it is not shown again.</strong>
          </p>
          <p class="secret">
            <code data-testid="webhook-secret">{secret.secret}</code>
          </p>
        </div>
      ) : null}
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="webhooks" /> : null}
      {list.data && list.data.length === 0 ? <p>No webhooks.</p> : null}
      <div class="stack" data-ready={list.loading ? undefined : 'true'}>
        {list.data?.map((hook) => (
          <WebhookCard key={hook.id} hook={hook} onChanged={list.reload} onNotice={onNotice} />
        ))}
      </div>
      {creating ? (
        <WebhookDialog
          onClose={() => setCreating(false)}
          onSaved={(hook) => {
            setCreating(false);
            setSecret({ url: hook.url, secret: hook.secret });
            onNotice(`Created the webhook ${hook.url}.`);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}
