/** Requests: the person's requests (and those of the sources they manage), their status and chain; withdraw a pending one. */
import { useState } from 'preact/hooks';
import { del, messageOf, page } from '../api';
import type { PageDef } from '../pages';
import { BASE, setQuery, useLocation } from '../router';
import { hasRight, useMe } from '../session';
import { Chain, day, Dialog, ErrorMessage, Link, Loading, Pager, Status, takeFlash, useLoad, when } from '../ui';
import { SortableHeader, Table } from '../forms';

interface Request {
  id: string;
  accountName: string;
  firstName: string;
  lastName: string;
  email: string;
  approvalStatus: string;
  approvalItems: { approvalOrder: number; approvalStatus: string }[];
  nonEmployeeSource: { name: string };
  startDate: string;
  endDate: string;
  created: string;
  comment?: string;
}

const LIMIT = 25;
const STATUSES = [
  ['', 'Any status'],
  ['PENDING', 'Pending'],
  ['APPROVED', 'Approved'],
  ['REJECTED', 'Rejected'],
] as const;

/** A column header that sorts the list by its field through the API (again: the other way). */
function Requests() {
  const { me } = useMe();
  const { query } = useLocation();
  const offset = Number(query.get('offset') ?? 0) || 0;
  const status = query.get('status') ?? '';
  const sort = query.get('sort') ?? '-created';
  const [withdrawing, setWithdrawing] = useState<Request>();
  const [notice, setNotice] = useState(takeFlash);
  const [error, setError] = useState<unknown>();
  const mayWithdraw = hasRight(me, 'idn:nesr:delete');
  const list = useLoad(
    () =>
      page<Request>('/v3/non-employee-requests', {
        'requested-for': 'me',
        limit: LIMIT,
        offset,
        sorters: sort,
        filters: status ? `approvalStatus eq "${status}"` : undefined,
      }),
    `${offset}:${status}:${sort}`,
  );

  const withdraw = async () => {
    const request = withdrawing!;
    setWithdrawing(undefined);
    try {
      await del(`/v3/non-employee-requests/${request.id}`);
      setNotice(`Withdrew the request for ${request.accountName}.`);
      list.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <>
      <div class="heading">
        <h1>Requests</h1>
        <Link class="button primary" href={`${BASE}/requests/new`}>
          New request
        </Link>
      </div>
      <div class="toolbar">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setQuery({ status: e.currentTarget.value, offset: undefined }, true)}>
            {STATUSES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p class="notice" role="status">
        {notice}
      </p>
      <ErrorMessage error={error ?? list.error} />
      {list.loading && !list.data ? <Loading what="requests" /> : null}
      {list.data ? (
        <div class="table-wrap" data-ready={list.loading ? undefined : 'true'}>
          <Table
            caption="My requests"
            columns={[
              <SortableHeader key="lastName" field="lastName" label="Name" sort={sort} />,
              <SortableHeader key="accountName" field="accountName" label="Account name" sort={sort} />,
              'Source',
              <SortableHeader key="startDate" field="startDate" label="Dates" sort={sort} />,
              <SortableHeader key="approvalStatus" field="approvalStatus" label="Status" sort={sort} />,
              'Approvals',
              <SortableHeader key="created" field="created" label="Requested" sort={sort} />,
              ...(mayWithdraw ? ['Actions'] : []),
            ]}
            empty="No requests."
            count={list.data.items.length}
          >
            {list.data.items.map((request) => (
              <tr key={request.id}>
                <td>
                  {request.firstName} {request.lastName}
                </td>
                <td>{request.accountName}</td>
                <td>{request.nonEmployeeSource.name}</td>
                <td>
                  {day(request.startDate)} to {day(request.endDate)}
                </td>
                <td>
                  <Status value={request.approvalStatus} />
                  {request.comment ? <div class="muted">{request.comment}</div> : null}
                </td>
                <td>
                  <Chain items={request.approvalItems} />
                </td>
                <td>{when(request.created)}</td>
                {mayWithdraw ? (
                  <td>
                    {request.approvalStatus === 'PENDING' ? (
                      <button type="button" onClick={() => setWithdrawing(request)} aria-label={`Withdraw the request for ${request.accountName}`}>
                        Withdraw
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        </div>
      ) : null}
      {list.data ? <Pager label="Requests" total={list.data.total} limit={LIMIT} offset={offset} onOffset={(o) => setQuery({ offset: o })} /> : null}
      {withdrawing ? (
        <Dialog title={`Withdraw the request for ${withdrawing.accountName}?`} onClose={() => setWithdrawing(undefined)}>
          <p>The approvers are told it was withdrawn; the request is removed.</p>
          <div class="actions">
            <button type="button" class="danger" onClick={() => void withdraw().catch((e) => setError(messageOf(e)))}>
              Withdraw
            </button>
            <button type="button" onClick={() => setWithdrawing(undefined)}>
              Cancel
            </button>
          </div>
        </Dialog>
      ) : null}
    </>
  );
}

export const requestsPage: PageDef = {
  path: '/requests',
  title: 'Requests',
  nav: 'Requests',
  visible: (me) => me.managedSources > 0 || hasRight(me, 'idn:nesr:create'),
  component: Requests,
};
