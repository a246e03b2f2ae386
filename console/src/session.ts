/** Who is signed in, and what the console shows them: read from the session and the API. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { type Answer, ApiError, call, setCsrfToken } from './api';

export interface Identity {
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
  admin: boolean;
  rights: string[];
}

export interface SessionAnswer {
  identity: Identity;
  csrfToken: string;
  created: string;
  expires: string;
  totp?: boolean;
  totpEnrolmentRequired?: boolean;
}

export interface Me {
  session: SessionAnswer;
  identity: Identity;
  /** Sources the person owns or is an account manager of. */
  managedSources: number;
  /** Approval items for the person (theirs or their governance groups'), in any state. */
  approvalItems: number;
  /** Of those, by status. */
  approvals: { pending: number; approved: number; rejected: number };
}

export type Right = 'idn:nesr:read' | 'idn:nesr:create' | 'idn:nesr:update' | 'idn:nesr:delete';

export const hasRight = (me: Me, right: Right) => me.identity.admin || me.identity.rights.includes(right);

/** Reads the session and what the person is to the API's objects; undefined when signed out. */
export async function loadMe(): Promise<Me | undefined> {
  // Asked together (one round trip): the counts are read only when the session answers.
  const quiet = { quiet401: true } as const;
  const [answer, sources, items, approvals] = await Promise.allSettled([
    call<SessionAnswer>('GET', '/console/api/session', quiet),
    call<unknown[]>('GET', '/v3/non-employee-sources', { ...quiet, query: { 'requested-for': 'me', limit: 1, count: true } }),
    call<unknown[]>('GET', '/v3/non-employee-approvals', { ...quiet, query: { 'requested-for': 'me', limit: 1, count: true } }),
    call<{ pending: number; approved: number; rejected: number }>('GET', '/v3/non-employee-approvals/summary/me', quiet),
  ]);
  if (answer.status === 'rejected') {
    const error = answer.reason as unknown;
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return undefined;
    throw error;
  }
  const session = answer.value.data;
  setCsrfToken(session.csrfToken);
  if (session.totpEnrolmentRequired)
    return { session, identity: session.identity, managedSources: 0, approvalItems: 0, approvals: { pending: 0, approved: 0, rejected: 0 } };
  for (const read of [sources, items, approvals]) if (read.status === 'rejected') throw read.reason;
  const value = <T>(read: PromiseSettledResult<Answer<T>>) => (read as PromiseFulfilledResult<Answer<T>>).value;
  return {
    session,
    identity: session.identity,
    managedSources: value(sources).total ?? value(sources).data.length,
    approvalItems: value(items).total ?? value(items).data.length,
    approvals: value(approvals).data,
  };
}

export interface MeContext {
  me: Me;
  /** Reads the session and the counts again (after a decision, a request). */
  refresh(): Promise<void>;
}

export const Session = createContext<MeContext | undefined>(undefined);

export function useMe(): MeContext {
  const context = useContext(Session);
  if (!context) throw new Error('useMe outside a signed-in console');
  return context;
}

/** A person's name for display: the name, else the alias. */
export const displayName = (identity: { name?: string | null; alias?: string | null; id?: string }) => identity.name || identity.alias || identity.id || '';
