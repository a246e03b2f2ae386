/** The approval state machine (domain/approvals/state.ts): tables, initial states, decision plans. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  APPROVAL_STATUSES,
  ITEM_TRANSITIONS,
  OPEN_ITEM_STATUSES,
  REQUEST_TRANSITIONS,
  initialState,
  itemTransition,
  parseApprovalStatus,
  planDecision,
  requestTransition,
  type ApprovalStatus,
  type ItemState,
} from '../../src/modules/requests/state.js';
import { ApiError, DetailCode } from '../../src/errors/api-error.js';

const items = (...statuses: ApprovalStatus[]): ItemState[] => statuses.map((status, i) => ({ id: `i${i + 1}`, order: i + 1, status }));

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    return error;
  }
  assert.fail('expected an ApiError');
}

describe('approval state: the tables', () => {
  test('items: PENDING is decided or cancelled, NOT_READY activated or cancelled, the rest is final', () => {
    assert.deepEqual(ITEM_TRANSITIONS.PENDING, { approve: 'APPROVED', reject: 'REJECTED', cancel: 'CANCELLED' });
    assert.deepEqual(ITEM_TRANSITIONS.NOT_READY, { activate: 'PENDING', cancel: 'CANCELLED' });
    for (const final of ['APPROVED', 'REJECTED', 'CANCELLED'] as const) {
      for (const event of ['approve', 'reject', 'activate', 'cancel'] as const) assert.equal(itemTransition(final, event), undefined, `${final} ${event}`);
    }
    assert.equal(itemTransition('NOT_READY', 'approve'), undefined);
    assert.equal(itemTransition('NOT_READY', 'reject'), undefined);
    assert.deepEqual([...OPEN_ITEM_STATUSES].sort(), ['NOT_READY', 'PENDING']);
  });

  test('requests: only PENDING moves, to APPROVED or REJECTED (a deleted one is gone)', () => {
    assert.equal(requestTransition('PENDING', 'complete'), 'APPROVED');
    assert.equal(requestTransition('PENDING', 'reject'), 'REJECTED');
    assert.deepEqual(Object.values(REQUEST_TRANSITIONS.PENDING).sort(), ['APPROVED', 'REJECTED']);
    for (const final of ['APPROVED', 'REJECTED', 'CANCELLED'] as const) assert.deepEqual(REQUEST_TRANSITIONS[final], {});
  });

  test('initial state: level 1 PENDING, later levels NOT_READY; no approvers: APPROVED at once', () => {
    assert.deepEqual(initialState(0), { request: 'APPROVED', items: [] });
    assert.deepEqual(initialState(1), { request: 'PENDING', items: ['PENDING'] });
    assert.deepEqual(initialState(3), { request: 'PENDING', items: ['PENDING', 'NOT_READY', 'NOT_READY'] });
  });

  test('approvalStatus filter values in any case', () => {
    assert.equal(parseApprovalStatus('Pending'), 'PENDING');
    assert.equal(parseApprovalStatus('not_ready'), 'NOT_READY');
    assert.equal(parseApprovalStatus('Not Ready'), 'NOT_READY');
    assert.equal(parseApprovalStatus(' approved '), 'APPROVED');
    assert.equal(parseApprovalStatus('done'), undefined);
  });
});

describe('approval state: decisions', () => {
  test('approving level k activates level k+1; the request goes on', () => {
    assert.deepEqual(planDecision(items('PENDING', 'NOT_READY', 'NOT_READY'), 'i1', 'approve'), { decided: 'APPROVED', activate: ['i2'], cancel: [] });
    assert.deepEqual(planDecision(items('APPROVED', 'PENDING', 'NOT_READY'), 'i2', 'approve'), { decided: 'APPROVED', activate: ['i3'], cancel: [] });
  });

  test('approving the last level completes the request', () => {
    assert.deepEqual(planDecision(items('PENDING'), 'i1', 'approve'), { decided: 'APPROVED', activate: [], cancel: [], requestEvent: 'complete' });
    assert.deepEqual(planDecision(items('APPROVED', 'APPROVED', 'PENDING'), 'i3', 'approve'), {
      decided: 'APPROVED',
      activate: [],
      cancel: [],
      requestEvent: 'complete',
    });
  });

  test('a rejection at any level rejects the request and cancels the open items', () => {
    assert.deepEqual(planDecision(items('PENDING', 'NOT_READY', 'NOT_READY'), 'i1', 'reject'), {
      decided: 'REJECTED',
      activate: [],
      cancel: ['i2', 'i3'],
      requestEvent: 'reject',
    });
    assert.deepEqual(planDecision(items('APPROVED', 'PENDING', 'NOT_READY'), 'i2', 'reject'), {
      decided: 'REJECTED',
      activate: [],
      cancel: ['i3'],
      requestEvent: 'reject',
    });
  });

  test('deciding a NOT_READY, APPROVED, REJECTED or CANCELLED item is 400.1.3 with a reason', () => {
    const cases: [ApprovalStatus[], string, RegExp][] = [
      [['PENDING', 'NOT_READY'], 'i2', /NOT_READY/],
      [['APPROVED', 'PENDING'], 'i1', /already APPROVED/],
      [['REJECTED', 'CANCELLED'], 'i1', /already REJECTED/],
      [['REJECTED', 'CANCELLED'], 'i2', /CANCELLED/],
    ];
    for (const [statuses, id, reason] of cases) {
      for (const decision of ['approve', 'reject'] as const) {
        const error = thrown(() => planDecision(items(...statuses), id, decision));
        assert.equal(error.status, 400);
        assert.equal(error.detailCode, DetailCode.illegalUpdate);
        assert.match(error.text, reason);
      }
    }
    assert.equal(thrown(() => planDecision(items('PENDING'), 'nope', 'approve')).status, 404);
  });

  test('any sequence of decisions keeps at most one PENDING item, in level order, and final states final', () => {
    const levels = fc.integer({ min: 1, max: 3 });
    const steps = fc.array(fc.record({ level: fc.integer({ min: 1, max: 3 }), decision: fc.constantFrom('approve' as const, 'reject' as const) }), {
      maxLength: 8,
    });
    fc.assert(
      fc.property(levels, steps, (n, moves) => {
        let state: ItemState[] = initialState(n).items.map((status, i) => ({ id: `i${i + 1}`, order: i + 1, status }));
        let request: 'PENDING' | 'APPROVED' | 'REJECTED' = 'PENDING';
        for (const move of moves) {
          const target = state.find((i) => i.order === move.level);
          if (!target) continue;
          const before = target.status;
          let plan: ReturnType<typeof planDecision>;
          try {
            plan = planDecision(state, target.id, move.decision);
          } catch (error) {
            // Only a PENDING item may be decided; a refusal changes nothing.
            assert.notEqual(before, 'PENDING');
            assert.ok(error instanceof ApiError && error.status === 400);
            continue;
          }
          assert.equal(before, 'PENDING');
          assert.equal(request, 'PENDING', 'no item is PENDING once the request ended');
          state = state.map((i) =>
            i.id === target.id
              ? { ...i, status: plan.decided }
              : plan.activate.includes(i.id)
                ? { ...i, status: 'PENDING' }
                : plan.cancel.includes(i.id)
                  ? { ...i, status: 'CANCELLED' }
                  : i,
          );
          if (plan.requestEvent === 'complete') request = 'APPROVED';
          if (plan.requestEvent === 'reject') request = 'REJECTED';
        }
        const pending = state.filter((i) => i.status === 'PENDING');
        assert.ok(pending.length <= 1);
        if (request === 'PENDING') {
          assert.equal(pending.length, 1);
          // Every level before the PENDING one is APPROVED, every level after is NOT_READY.
          const at = pending[0]!.order;
          assert.ok(state.every((i) => (i.order < at ? i.status === 'APPROVED' : i.order > at ? i.status === 'NOT_READY' : true)));
        }
        if (request === 'APPROVED') assert.ok(state.every((i) => i.status === 'APPROVED'));
        if (request === 'REJECTED') assert.equal(state.filter((i) => i.status === 'REJECTED').length, 1);
        assert.ok(state.every((i) => (APPROVAL_STATUSES as readonly string[]).includes(i.status)));
      }),
    );
  });
});
