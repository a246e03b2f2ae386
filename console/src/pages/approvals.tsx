/**
 * Approvals: the items waiting for the person (or their governance groups), with the
 * non-employee's details and the level of the chain; Approve and Reject open a dialog; decided
 * items in the History tab.
 */
import { useState } from 'preact/hooks';
import { get, messageOf, page, post } from '../api';
import type { PageDef } from '../pages';
import { setQuery, useLocation } from '../router';
import { displayName, useMe } from '../session';
import { Dialog, day, ErrorMessage, Field, Loading, Pager, Status, useLoad, when } from '../ui';
import { Tabs } from '../forms';

interface Item {
  id: string;
  accountName: string;
  approvalStatus: string;
  approvalOrder: number;
  comment?: string;
  created: string;
  modified: string;
  nonEmployeeRequest: { id: string; requester: { id: string; name?: string } };
}

interface Detail {
  id: string;
  nonEmployeeRequest?: {
    firstName: string;
    lastName: string;
    email: string;
    phone: string;
    manager: string;
    startDate: string;
    endDate: string;
    nonEmployeeSource: { name: string };
    requester: { name?: string; id: string };
  };
}

const LIMIT = 10;
const TABS = [
  { key: 'pending', label: 'Pending', filters: 'approvalStatus eq "PENDING"' },
  { key: 'history', label: 'History', filters: 'approvalStatus in ("APPROVED","REJECTED")' },
] as const;

type Decision = { item: Item; kind: 'approve' | 'reject' };

function DecisionDialog({ decision, onDone, onCancel }: { decision: Decision; onDone(): void; onCancel(): void }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const verb = decision.kind === 'approve' ? 'Approve' : 'Reject';
  const submit = async (event: Event) => {
    event.preventDefault();
    if (decision.kind === 'reject' && comment.trim() === '') {
      setError('A comment is required to reject.');
      return;
    }
    setBusy(true);
    try {
      await post(`/v3/non-employee-approvals/${decision.item.id}/${decision.kind}`, comment ? { comment } : {});
      onDone();
    } catch (failure) {
      setError(messageOf(failure));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`${verb} ${decision.item.accountName}`} onClose={onCancel}>
      <form onSubmit={submit} noValidate>
        <Field
          label="Comment"
          required={decision.kind === 'reject'}
          error={error}
          help={decision.kind === 'reject' ? 'Say why: the requester reads it.' : undefined}
        >
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              rows={3}
              maxLength={4000}
              required={decision.kind === 'reject'}
              aria-invalid={invalid}
              aria-describedby={describedBy}
              value={comment}
              onInput={(e) => setComment(e.currentTarget.value)}
            />
          )}
        </Field>
        <div class="actions">
          <button type="submit" class={decision.kind === 'approve' ? 'primary' : 'danger'} disabled={busy}>
            {verb}
          </button>
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Approvals() {
  const { me, refresh } = useMe();
  const { query } = useLocation();
  const tab = TABS.find((t) => t.key === query.get('tab')) ?? TABS[0];
  const offset = Number(query.get('offset') ?? 0) || 0;
  const [decision, setDecision] = useState<Decision>();
  const [notice, setNotice] = useState('');
  const list = useLoad(
    () =>
      page<Item>('/v3/non-employee-approvals', {
        'requested-for': 'me',
        limit: LIMIT,
        offset,
        filters: tab.filters,
        sorters: tab.key === 'pending' ? 'created' : '-modified',
      }),
    `${tab.key}:${offset}`,
  );
  // The items are shown (and may be decided) at once; each one's details follow.
  const ids = list.data?.items.map((item) => item.id) ?? [];
  const details = useLoad(async () => {
    const found = await Promise.all(
      ids.map((id) =>
        get<Detail>(`/v3/non-employee-approvals/${id}`).then(
          (a) => a.data,
          () => undefined,
        ),
      ),
    );
    return new Map(found.filter((d) => d !== undefined).map((d) => [d.id, d]));
  }, ids.join(','));

  const decided = async () => {
    const verb = decision?.kind === 'approve' ? 'Approved' : 'Rejected';
    setNotice(`${verb} ${decision?.item.accountName}.`);
    setDecision(undefined);
    list.reload();
    await refresh();
  };

  return (
    <>
      <h1>Approvals</h1>
      <Tabs
        label="Approval items"
        tabs={TABS.map((t) => (t.key === 'pending' ? { ...t, label: `${t.label} (${me.approvals.pending})` } : t))}
        current={tab.key}
        onSelect={(key) => setQuery({ tab: key === 'pending' ? undefined : key, offset: undefined })}
      />
      <p class="notice" role="status">
        {notice}
      </p>
      <section role="tabpanel" aria-label={tab.label}>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading what="approval items" /> : null}
        {list.data && list.data.items.length === 0 ? <p>{tab.key === 'pending' ? 'Nothing is waiting for you.' : 'You have decided nothing yet.'}</p> : null}
        {list.data && list.data.items.length > 0 ? (
          <div class="cards" data-ready={list.loading ? undefined : 'true'}>
            {list.data.items.map((item) => {
              const detail = details.data?.get(item.id)?.nonEmployeeRequest;
              return (
                <article class="card" key={item.id} aria-labelledby={`approval-${item.id}`}>
                  <h2 id={`approval-${item.id}`}>
                    {detail ? `${detail.firstName} ${detail.lastName}` : item.accountName} <Status value={item.approvalStatus} />
                  </h2>
                  <dl class="facts">
                    <dt>Account name</dt>
                    <dd>{item.accountName}</dd>
                    {detail ? (
                      <>
                        <dt>Source</dt>
                        <dd>{detail.nonEmployeeSource.name}</dd>
                        <dt>Email</dt>
                        <dd>{detail.email}</dd>
                        <dt>Phone</dt>
                        <dd>{detail.phone}</dd>
                        <dt>Manager</dt>
                        <dd>{detail.manager}</dd>
                        <dt>Dates</dt>
                        <dd>
                          {day(detail.startDate)} to {day(detail.endDate)}
                        </dd>
                      </>
                    ) : null}
                    <dt>Requested by</dt>
                    <dd>{displayName(item.nonEmployeeRequest.requester)}</dd>
                    <dt>Approval level</dt>
                    <dd>Level {item.approvalOrder}</dd>
                    <dt>{tab.key === 'pending' ? 'Waiting since' : 'Decided'}</dt>
                    <dd>{when(tab.key === 'pending' ? item.created : item.modified)}</dd>
                    {item.comment ? (
                      <>
                        <dt>Comment</dt>
                        <dd>{item.comment}</dd>
                      </>
                    ) : null}
                  </dl>
                  {item.approvalStatus === 'PENDING' ? (
                    <div class="actions">
                      <button type="button" class="primary" onClick={() => setDecision({ item, kind: 'approve' })} aria-describedby={`approval-${item.id}`}>
                        Approve
                      </button>
                      <button type="button" class="danger" onClick={() => setDecision({ item, kind: 'reject' })} aria-describedby={`approval-${item.id}`}>
                        Reject
                      </button>
                    </div>
                  ) : null}
                </article>
              );
            })}
          </div>
        ) : null}
        {list.data ? <Pager label="Approval items" total={list.data.total} limit={LIMIT} offset={offset} onOffset={(o) => setQuery({ offset: o })} /> : null}
      </section>
      {decision ? <DecisionDialog decision={decision} onDone={decided} onCancel={() => setDecision(undefined)} /> : null}
    </>
  );
}

export const approvalsPage: PageDef = {
  path: '/approvals',
  title: 'Approvals',
  nav: 'Approvals',
  visible: (me) => me.approvalItems > 0,
  badge: (me) => me.approvals.pending,
  component: Approvals,
};
