/**
 * Non-employee sources: the rules of SailPoint's source operations (docs/authorization.md), and
 * the limit counters kept in a source's row (its records, its custom attributes). No HTTP, no SQL.
 *
 * Who may do what:
 * - create: org admins (the only user level SailPoint documents for it);
 * - list: `idn:nesr:read` for all sources or any identity's; anyone for `requested-for=me`
 *   (the sources they own or are an account manager of, directly or through a governance group);
 * - get: `idn:nesr:read`, the source's owner, or an account manager of it;
 * - patch: `idn:nesr:update`; delete: `idn:nesr:delete`.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hasRight, type Principal, requestedIdentity } from '../../auth/principal.js';
import { newId } from '../../auth/secrets.js';
import { parseSorters, type SortSpec } from '../../collections/query.js';
import { type Exec, transaction } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { isId, laterThan, newUuid, normalizeId, nowIso } from '../../domain/ids.js';
import { type FilterNode, filterValues, mapFilterValues } from '../../collections/filter.js';
import { applyPatch, type PatchOperation } from '../../domain/json-patch.js';
import { LIMITS } from '../../domain/limits.js';
import { controlCharacterProblem, type TextKind } from '../../domain/text.js';
import { assertThat, type Cause, fail } from '../../errors/api-error.js';
import type { Member } from '../directory/model.js';
import type { DirectoryService } from '../directory/service.js';
import { actorOf, changesOf, type EventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { Source } from './model.js';
import type { SourceCounter, SourceRepository } from './repository.js';

export interface SourceInput {
  name: string;
  description: string;
  owner: { id: string };
  managementWorkgroup?: string | undefined;
  approvers?: readonly { id: string }[] | undefined;
  accountManagers?: readonly { id: string }[] | undefined;
}

export interface ListSourcesParams {
  requestedFor?: string | undefined;
  sorters?: string | undefined;
  limit: number;
  offset: number;
  count: boolean;
}

/** What a new source gets besides its row: its system schema attributes (the schema-attributes module). */
export type NewSourceSchema = (trx: Exec, tenantId: string, sourceId: string, now: string) => Promise<void>;

export const SOURCE_SORTS: SortSpec = {
  fields: { name: 'sources.name', created: 'sources.created', sourceId: 'sources.isc_source_id' },
  tiebreak: 'sources.id',
  caseless: ['name'],
};

/** How often a patch is applied again after losing a race with another write of the source. */
const PATCH_ATTEMPTS = 50;

/** The fields a JSON Patch may change (`patchNonEmployeeSource`). */
const PATCHABLE = ['name', 'description', 'approvers', 'accountManagers'] as const;

const MAXIMUM: Record<SourceCounter, number> = { record_count: LIMITS.recordsPerSource, custom_attribute_count: LIMITS.customAttributesPerSource };

/** The kind of each text field of a source (src/domain/text.ts): the description may span lines. */
const TEXT_KINDS = { name: 'single-line', description: 'multi-line', managementWorkgroup: 'single-line' } as const satisfies Record<string, TextKind>;

/** Adds a cause when `value` of `field` holds a control character its kind does not allow; false then. */
function checkControls(field: keyof typeof TEXT_KINDS, value: string, causes: Cause[]): boolean {
  const problem = controlCharacterProblem(field, value, TEXT_KINDS[field]);
  if (problem !== undefined) causes.push({ field, text: problem });
  return problem === undefined;
}

export class SourceService {
  /**
   * The stored id of each source a `sourceId` filter named, by tenant and 32-hex spelling. What a
   * value names never changes (ids and ISC source ids are made once), so this never goes stale: a
   * value naming a source deleted since still names no records. Saves lists a query.
   */
  private readonly storedIds = new Map<string, string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: SourceRepository,
    private readonly directory: DirectoryService,
    private readonly events: EventLog,
    private readonly newSourceSchema: NewSourceSchema,
  ) {}

  /** Appends the event of a change of `source` by `principal`, in the change's transaction. */
  private async logEvent(trx: Exec, principal: Principal, type: string, source: Source, changes?: EventInput['data']['changes']): Promise<void> {
    const data = changes ? { object: source, changes } : { object: source };
    await this.events.append(trx, principal.tenantId, [
      { type, actor: actorOf(principal), target: { type: 'source', id: source.id, sourceId: source.id }, data },
    ]);
  }

  /** Resolves `{id}` references to identities or governance groups; one cause per bad entry. */
  private async resolveMembers(tenantId: string, field: string, refs: readonly { id: string }[], max: number, causes: Cause[]): Promise<Member[]> {
    if (refs.length > max) {
      causes.push({ field, text: `${field} must not have more than ${max} entries` });
      return [];
    }
    const ids = refs.map((r) => normalizeId(r.id));
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      if (seen.has(id)) causes.push({ field: `${field}[${i}].id`, text: `${field}[${i}].id ${id} is listed twice` });
      seen.add(id);
    });
    const notIdentities = new Set(await this.directory.missingIdentities(tenantId, ids));
    const notGroups = new Set(await this.directory.missingWorkgroups(tenantId, [...notIdentities]));
    return ids.flatMap((id, i): Member[] => {
      if (!notIdentities.has(id)) return [{ type: 'IDENTITY', id }];
      if (!notGroups.has(id)) return [{ type: 'GOVERNANCE_GROUP', id }];
      causes.push({ field: `${field}[${i}].id`, text: `${field}[${i}].id ${id} is neither an identity nor a governance group` });
      return [];
    });
  }

  async create(principal: Principal, input: SourceInput): Promise<Source> {
    assertThat(principal.admin, () => fail.forbidden('Only an org admin may create a non-employee source.'));
    const tenantId = principal.tenantId;
    const causes: Cause[] = [];
    checkControls('name', input.name, causes);
    checkControls('description', input.description, causes);
    if (input.managementWorkgroup !== undefined) checkControls('managementWorkgroup', input.managementWorkgroup, causes);
    const ownerId = normalizeId(input.owner.id);
    if ((await this.directory.missingIdentities(tenantId, [ownerId])).length > 0)
      causes.push({ field: 'owner.id', text: `owner.id ${input.owner.id} is not an identity` });
    const approvers = await this.resolveMembers(tenantId, 'approvers', input.approvers ?? [], LIMITS.approversPerSource, causes);
    const accountManagers = await this.resolveMembers(tenantId, 'accountManagers', input.accountManagers ?? [], LIMITS.accountManagersPerSource, causes);
    if (causes.length > 0) throw fail.invalid(causes);

    const now = nowIso();
    const source: Source = {
      id: newUuid(),
      iscSourceId: newId(),
      name: input.name,
      description: input.description,
      ownerId,
      managementWorkgroup: input.managementWorkgroup ?? null,
      cloudExternalId: String(randomInt(100_000, 1_000_000_000)),
      recordCount: 0,
      approvers,
      accountManagers,
      created: now,
      modified: now,
    };
    await transaction(this.db, async (trx) => {
      const reserved = await this.repo.takeSourceSlot(trx, tenantId, LIMITS.sourcesPerTenant);
      if (!reserved) throw fail.limitViolation(`An org can have at most ${LIMITS.sourcesPerTenant} non-employee sources.`);
      await this.repo.insert(trx, tenantId, source);
      await this.newSourceSchema(trx, tenantId, source.id, now);
      await this.logEvent(trx, principal, 'source.created', source);
    });
    return source;
  }

  /** The source, if the caller may read it: `idn:nesr:read`, its owner, or an account manager of it. */
  async get(principal: Principal, id: string): Promise<Source> {
    const source = await this.find(principal.tenantId, id);
    if (!hasRight(principal, 'idn:nesr:read') && !(await this.isOwnerOrAccountManager(principal, source.id))) throw fail.forbidden();
    return source;
  }

  /** The source or a 404; no authorization (for services that check their own rules). */
  async find(tenantId: string, id: string, db: Exec = this.db): Promise<Source> {
    const source = await this.repo.byId(db, tenantId, id);
    assertThat(source, () => fail.notFound(`Non-employee source ${id} was not found.`));
    return source;
  }

  /**
   * The source a client names where the documents write `sourceId` (record and request bodies,
   * `{sourceId}` paths): its `id` or, as the documented examples also read, its `sourceId`.
   */
  async named(tenantId: string, value: unknown, db: Exec = this.db): Promise<Source | undefined> {
    const text = typeof value === 'string' ? value.trim() : '';
    return isId(text) ? this.repo.byIdOrSourceId(db, tenantId, text) : undefined;
  }

  /** `named`, or a 404. */
  async findNamed(tenantId: string, value: string, db: Exec = this.db): Promise<Source> {
    const source = await this.named(tenantId, value, db);
    assertThat(source, () => fail.notFound(`Non-employee source ${value} was not found.`));
    return source;
  }

  /**
   * `filter` with every `sourceId eq|in` value that names a source by its `sourceId` (ISC source
   * id) or in another spelling replaced by the source's stored id.
   */
  async resolveSourceFilter(tenantId: string, filter: FilterNode | undefined): Promise<FilterNode | undefined> {
    if (!filter) return filter;
    const key = (value: string) => `${tenantId} ${normalizeId(value)}`;
    const values = filterValues(filter, 'sourceId').filter((v): v is string => typeof v === 'string' && isId(v));
    const unknown = values.filter((v) => !this.storedIds.has(key(v)));
    if (unknown.length > 0) {
      if (this.storedIds.size > 10_000) this.storedIds.clear();
      for (const [value, id] of await this.repo.idsNamed(this.db, tenantId, unknown)) this.storedIds.set(key(value), id);
    }
    return mapFilterValues(filter, 'sourceId', (v) => (typeof v === 'string' && isId(v) ? (this.storedIds.get(key(v)) ?? v) : v));
  }

  /**
   * True when the caller owns the source or is an account manager of it (directly or through a
   * governance group): the people who may read a source, its attributes and its records without
   * `idn:nesr:read`, and file requests for it without `idn:nesr:create`.
   */
  async isOwnerOrAccountManager(principal: Principal, sourceId: string): Promise<boolean> {
    return this.repo.isKeptBy(this.db, principal.tenantId, sourceId, await this.directory.actorIds(principal));
  }

  /** The ids of the tenant's sources; with `actorIds`, only those one of them owns or is an account manager of. */
  sourceIds(tenantId: string, actorIds?: readonly string[]): Promise<string[]> {
    return this.repo.ids(this.db, tenantId, actorIds);
  }

  /** The sources that name a governance group (or identity) as approver or account manager. */
  naming(tenantId: string, principalId: string): Promise<string[]> {
    return this.repo.naming(this.db, tenantId, principalId);
  }

  /**
   * Takes `n` of the source's slots of `counter` (its 20,000 records, its 10 custom attributes)
   * in the caller's transaction; false when fewer are left or the source is gone. Taking 0 locks
   * the source's row: the lock order of every writer of its records is this row first.
   */
  takeSlots(trx: Exec, tenantId: string, sourceId: string, counter: SourceCounter, n: number): Promise<boolean> {
    return this.repo.addToCounter(trx, tenantId, sourceId, counter, n, MAXIMUM[counter]);
  }

  /** Gives `n` slots of `counter` back, in the caller's transaction. */
  async giveSlots(trx: Exec, tenantId: string, sourceId: string, counter: SourceCounter, n: number): Promise<void> {
    await this.repo.addToCounter(trx, tenantId, sourceId, counter, -n, MAXIMUM[counter]);
  }

  async list(principal: Principal, params: ListSourcesParams): Promise<{ sources: Source[]; total?: number }> {
    let keptBy: string[] | undefined;
    const requestedFor = params.requestedFor;
    if (requestedFor === undefined || requestedFor === '') {
      assertThat(hasRight(principal, 'idn:nesr:read'), () =>
        fail.forbidden('Listing every source requires idn:nesr:read; account managers pass requested-for=me.'),
      );
    } else {
      const { self, identityId } = requestedIdentity(principal, requestedFor);
      assertThat(self || hasRight(principal, 'idn:nesr:read'), () => fail.forbidden('Listing the sources of another identity requires idn:nesr:read.'));
      keptBy = await this.directory.actorIds({ ...principal, identityId });
    }
    const sorters = parseSorters(params.sorters, SOURCE_SORTS);
    const sources = await this.repo.list(this.db, principal.tenantId, { keptBy, sorters, limit: params.limit, offset: params.offset });
    const total = params.count ? await this.repo.count(this.db, principal.tenantId, keptBy) : undefined;
    return { sources, ...(total !== undefined ? { total } : {}) };
  }

  async patch(principal: Principal, id: string, operations: readonly PatchOperation[]): Promise<Source> {
    assertThat(hasRight(principal, 'idn:nesr:update'), () => fail.forbidden('Patching a source requires idn:nesr:update.'));
    // Optimistic concurrency: the write applies only if the source is still as it was read (same
    // `modified`); otherwise another write came first and the patch is applied again to its result,
    // so concurrent patches (two `add /accountManagers/-`) are not lost.
    for (let attempt = 1; ; attempt++) {
      const next = await this.patchedSource(principal, id, operations);
      if (next.written) return next.source;
      if (attempt >= PATCH_ATTEMPTS) throw fail.internal();
    }
  }

  private async patchedSource(principal: Principal, id: string, operations: readonly PatchOperation[]): Promise<{ source: Source; written: boolean }> {
    const tenantId = principal.tenantId;
    const source = await this.find(tenantId, id);
    const current = {
      name: source.name,
      description: source.description,
      approvers: source.approvers.map((m) => ({ id: m.id })),
      accountManagers: source.accountManagers.map((m) => ({ id: m.id })),
    };
    const patched = applyPatch(current as Record<string, unknown>, operations, PATCHABLE);
    const causes: Cause[] = [];
    const text = (field: 'name' | 'description', max: number, min: number) => {
      const v = patched[field];
      if (typeof v !== 'string' || v.length < min || v.length > max) {
        causes.push({ field, text: `${field} must be a string of ${min} to ${max} characters` });
        return '';
      }
      // What the patch leaves as stored is not checked again.
      return v === source[field] || checkControls(field, v, causes) ? v : '';
    };
    const name = text('name', 128, 1);
    const description = text('description', 2000, 0);
    const refs = (field: 'approvers' | 'accountManagers'): { id: string }[] => {
      const v = patched[field];
      // The spec's example replaces /approvers with plain id strings; objects with an id work too.
      if (!Array.isArray(v)) {
        causes.push({ field, text: `${field} must be an array of identity ids` });
        return [];
      }
      return v.flatMap((item, i) => {
        const ref = typeof item === 'string' ? item : typeof (item as { id?: unknown } | null)?.id === 'string' ? (item as { id: string }).id : undefined;
        if (ref === undefined || ref.length === 0 || ref.length > 64) {
          causes.push({ field: `${field}[${i}]`, text: `${field}[${i}] must be an identity id or {"id": …}` });
          return [];
        }
        return [{ id: ref }];
      });
    };
    const approvers = await this.resolveMembers(tenantId, 'approvers', refs('approvers'), LIMITS.approversPerSource, causes);
    const accountManagers = await this.resolveMembers(tenantId, 'accountManagers', refs('accountManagers'), LIMITS.accountManagersPerSource, causes);
    if (causes.length > 0) throw fail.invalid(causes);

    const next: Source = { ...source, name, description, approvers, accountManagers, modified: laterThan(source.modified) };
    const written = await transaction(this.db, async (trx) => {
      if (!(await this.repo.update(trx, tenantId, next, source.modified))) return false;
      await this.logEvent(trx, principal, 'source.updated', next, changesOf(source, next, PATCHABLE));
      return true;
    });
    return { source: next, written };
  }

  async delete(principal: Principal, id: string): Promise<void> {
    assertThat(hasRight(principal, 'idn:nesr:delete'), () => fail.forbidden('Deleting a source requires idn:nesr:delete.'));
    const deleted = await transaction(this.db, async (trx) => {
      const source = await this.repo.byId(trx, principal.tenantId, id);
      if (!source || !(await this.repo.delete(trx, principal.tenantId, source.id))) return false;
      await this.logEvent(trx, principal, 'source.deleted', source);
      return true;
    });
    assertThat(deleted, () => fail.notFound(`Non-employee source ${id} was not found.`));
  }
}
