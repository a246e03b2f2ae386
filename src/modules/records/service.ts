/**
 * Non-employee records: the rules of SailPoint's record operations (docs/authorization.md). No
 * HTTP; the SQL is in the repository, the field rules in validation.ts, the update rules in
 * updates.ts.
 *
 * Who may do what:
 * - list: `idn:nesr:read` sees every record; anyone else sees the records of the sources they own
 *   or (they or one of their governance groups) are an account manager of, which may be none;
 * - get: `idn:nesr:read`, or the owner or an account manager of the record's source (403 otherwise);
 * - create: `idn:nesr:create`; delete and bulk delete: `idn:nesr:delete`;
 * - replace (PUT) and patch: `idn:nesr:update` for every writable field, or the source owner for
 *   endDate only (any other change is a 403).
 *
 * Every write of a source's records takes the source's row first (its record counter): the lock
 * order of every such transaction, on both engines.
 */
import type { Kysely } from 'kysely';
import { hasRight, type Principal } from '../../auth/principal.js';
import { parseListFilter } from '../../collections/query.js';
import { type Exec, transaction } from '../../db/dialect.js';
import { uniqueViolation } from '../../db/errors.js';
import type { Database } from '../../db/types.js';
import { idSpellings, newUuid, normalizeId, nowIso } from '../../domain/ids.js';
import type { PatchOperation } from '../../domain/json-patch.js';
import { LIMITS } from '../../domain/limits.js';
import { assertThat, fail } from '../../errors/api-error.js';
import type { DirectoryService } from '../directory/service.js';
import { type Actor, actorOf, type Changes, changesOf, type EventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { SchemaAttributeService } from '../schema-attributes/service.js';
import type { Source } from '../sources/model.js';
import type { SourceService } from '../sources/service.js';
import { RECORD_FILTERS, recordSorters } from './collection.js';
import type { RecordListQuery } from './list.js';
import { type NonEmployeeRecord, type NormalisedRecord, normalisedOf } from './model.js';
import type { RecordRepository } from './repository.js';
import { checkPatch, checkReplace, patchedBody, updatedRecord } from './updates.js';
import { type RecordInput, type RecordValidation, validateRecordInput } from './validation.js';

export interface ListRecordsParams {
  filters?: string | undefined;
  sorters?: string | undefined;
  limit: number;
  offset: number;
  count: boolean;
}

const notFound = (id: string) => () => fail.notFound(`Non-employee record ${id} was not found.`);
const sourceGone = (sourceId: string) => fail.invalid([{ field: 'sourceId', text: `sourceId ${sourceId} does not name a non-employee source` }]);
/** A source has no slot left for a new record. */
export const sourceFull = () => fail.limitViolation(`A non-employee source can hold at most ${LIMITS.recordsPerSource} records.`);

/** The fields a `record.updated` event compares. */
export const RECORD_FIELDS = ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'startDate', 'endDate', 'data'] as const;

/** A record after a change (as it was, for a deletion), and what an update changed. */
export interface RecordChange {
  record: NonEmployeeRecord;
  changes?: Changes;
  /** What made the change, when it is not the actor's own call: `{requestId}` of an approved request. */
  context?: Record<string, unknown>;
}

type RecordVerb = 'created' | 'updated' | 'deleted';

/** What the lifecycle (src/modules/lifecycle) does in the transaction of every write of records. */
export interface RecordLifecycle {
  /** Plans the steps of records just written; the events the write owes too (`record.reactivated`). */
  written(trx: Exec, tenantId: string, records: readonly NonEmployeeRecord[], actor: Actor): Promise<EventInput[]>;
  /** Plans the steps of records just created (`written` for records that had none). */
  created(trx: Exec, tenantId: string, records: readonly NonEmployeeRecord[]): Promise<void>;
  /** Forgets what was due of deleted records. */
  deleted(trx: Exec, tenantId: string, ids: readonly string[]): Promise<void>;
}

export class RecordService {
  /** Set when the services are wired (the lifecycle module comes later). */
  lifecycle: RecordLifecycle | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: RecordRepository,
    private readonly attributes: SchemaAttributeService,
    private readonly sources: SourceService,
    private readonly directory: DirectoryService,
    private readonly events: EventLog,
  ) {}

  /** Appends, in the caller's transaction, one `record.<verb>` event per record. */
  logEvents(trx: Exec, tenantId: string, actor: Actor, verb: RecordVerb, records: readonly RecordChange[]): Promise<unknown> {
    return this.events.append(
      trx,
      tenantId,
      records.map((change) => this.event(actor, verb, change)),
    );
  }

  /** The `record.<verb>` event of a change, for a caller that appends it with others. */
  event(actor: Actor, verb: RecordVerb, { record, changes, context }: RecordChange): EventInput {
    return {
      type: `record.${verb}`,
      actor,
      target: { type: 'record', id: record.id, sourceId: record.sourceId },
      data: { object: record, ...(changes ? { changes } : {}), ...context },
    };
  }

  /**
   * Checks a NonEmployeeRequestBody against the source it names (its schema attributes) and the
   * directory (the manager alias). Never throws for invalid input: the result lists the causes.
   * @param existing the stored record, when `input` replaces it (see validation.ts)
   */
  async check(tenantId: string, input: RecordInput, existing?: NormalisedRecord): Promise<{ validation: RecordValidation; source?: Source }> {
    const manager = typeof input.manager === 'string' ? input.manager.trim() : '';
    const [source, managerIdentity] = await Promise.all([
      this.sources.named(tenantId, input.sourceId),
      manager !== '' ? this.directory.identityByAlias(tenantId, manager) : undefined,
    ]);
    const attributes = source ? await this.attributes.of(tenantId, source.id) : null;
    const named = source ? { ...input, sourceId: source.id } : input;
    const validation = validateRecordInput(named, { attributes, managerExists: managerIdentity !== undefined, existing });
    return { validation, ...(source ? { source } : {}) };
  }

  /** `check`, throwing the 400 (one cause per field) when the body is invalid. */
  async prepare(tenantId: string, input: RecordInput, existing?: NormalisedRecord): Promise<{ record: NormalisedRecord; source: Source }> {
    const { validation, source } = await this.check(tenantId, input, existing);
    if (!validation.ok) throw fail.invalid(validation.causes);
    return { record: validation.value, source: source! };
  }

  /** Runs `work`, turning a duplicate accountName into 400.1.409. */
  private async conflictsAsErrors<T>(accountName: string | undefined, verb: 'create' | 'update', work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const key = uniqueViolation(error);
      if (key !== 'records_account_name_key' && key !== 'records_account_name_caseless_key') throw error;
      const which = accountName === undefined ? 'one of its accountNames is' : `the accountName "${accountName}" is`;
      throw fail.referenceConflict(`Unable to ${verb} Non-Employee because ${which} already being used.`, 'accountName');
    }
  }

  /**
   * Inserts new records of one source in the caller's transaction: takes as many of the source's
   * 20,000 slots (false, and nothing written, when fewer are left), then inserts them; a taken
   * accountName is 400.1.409, a source that is gone a 400 naming sourceId. `between` runs between
   * two INSERT statements.
   */
  async insertNew(trx: Exec, tenantId: string, sourceId: string, records: readonly NonEmployeeRecord[], between?: () => Promise<void>): Promise<boolean> {
    if (!(await this.sources.takeSlots(trx, tenantId, sourceId, 'record_count', records.length))) {
      await this.sources.find(tenantId, sourceId, trx).catch(() => {
        throw sourceGone(sourceId);
      });
      return false;
    }
    const named = records.length === 1 ? records[0]!.accountName : undefined;
    await this.conflictsAsErrors(named, 'create', () => this.repo.insert(trx, tenantId, records, between));
    await this.lifecycle?.created(trx, tenantId, records);
    return true;
  }

  /**
   * Writes many changed records of one source in the caller's transaction (bulk import), by
   * `actor`; how many were found. The caller appends their `record.updated` events.
   */
  async updateMany(trx: Exec, tenantId: string, records: readonly NonEmployeeRecord[], actor: Actor, between?: () => Promise<void>): Promise<number> {
    const updated = await this.repo.updateMany(trx, tenantId, records, between);
    await this.events.append(trx, tenantId, (await this.lifecycle?.written(trx, tenantId, records, actor)) ?? []);
    return updated;
  }

  /** The records of these ids that exist, in the caller's transaction (the lifecycle's sweep). */
  async byIds(trx: Exec, tenantId: string, ids: readonly string[]): Promise<Map<string, NonEmployeeRecord>> {
    return new Map((await this.repo.byIds(trx, tenantId, ids)).map((r) => [r.id, r]));
  }

  /** Deletes records whose retention ended, in the caller's transaction (which appends their events); those deleted. */
  async removeRetained(trx: Exec, tenantId: string, records: readonly NonEmployeeRecord[]): Promise<NonEmployeeRecord[]> {
    const perSource = new Map<string, number>();
    for (const r of records) perSource.set(r.sourceId, (perSource.get(r.sourceId) ?? 0) + 1);
    for (const sourceId of [...perSource.keys()].sort()) await this.sources.giveSlots(trx, tenantId, sourceId, 'record_count', perSource.get(sourceId)!);
    const ids = records.map((r) => r.id);
    await this.lifecycle?.deleted(trx, tenantId, ids);
    return this.repo.delete(trx, tenantId, ids);
  }

  async create(principal: Principal, input: RecordInput): Promise<NonEmployeeRecord> {
    assertThat(hasRight(principal, 'idn:nesr:create'), () => fail.forbidden('Creating a non-employee record requires idn:nesr:create.'));
    const tenantId = principal.tenantId;
    const { record: value } = await this.prepare(tenantId, input);
    const now = nowIso();
    const record: NonEmployeeRecord = { id: newUuid(), ...value, created: now, modified: now };
    await transaction(this.db, async (trx) => {
      if (!(await this.insertNew(trx, tenantId, value.sourceId, [record]))) throw sourceFull();
      await this.logEvents(trx, tenantId, actorOf(principal), 'created', [{ record }]);
    });
    return record;
  }

  /** The record or a 404; no authorization. */
  async find(tenantId: string, id: string): Promise<NonEmployeeRecord> {
    const record = await this.repo.byId(this.db, tenantId, id);
    assertThat(record, notFound(id));
    return record;
  }

  async get(principal: Principal, id: string): Promise<NonEmployeeRecord> {
    const record = await this.find(principal.tenantId, id);
    if (!hasRight(principal, 'idn:nesr:read') && !(await this.sources.isOwnerOrAccountManager(principal, record.sourceId))) {
      throw fail.forbidden('Reading a record requires idn:nesr:read, or being the owner or an account manager of its source.');
    }
    return record;
  }

  /** The sources whose records the caller may list; undefined: every source (`idn:nesr:read`). */
  private async visibleSources(principal: Principal): Promise<string[] | undefined> {
    if (hasRight(principal, 'idn:nesr:read')) return undefined;
    return this.sources.sourceIds(principal.tenantId, await this.directory.actorIds(principal));
  }

  async list(principal: Principal, params: ListRecordsParams): Promise<{ records: NonEmployeeRecord[]; total?: number }> {
    const tenantId = principal.tenantId;
    const filter = await this.sources.resolveSourceFilter(tenantId, parseListFilter(params.filters, RECORD_FILTERS));
    const query: RecordListQuery = {
      within: await this.visibleSources(principal),
      filter,
      sorters: recordSorters(params.sorters),
      limit: params.limit,
      offset: params.offset,
    };
    const sourceIds = () => this.sources.sourceIds(tenantId);
    const records = await this.repo.page(this.db, tenantId, query, sourceIds);
    if (!params.count) return { records };
    return { records, total: await this.repo.count(this.db, tenantId, query, sourceIds) };
  }

  /** The records of the sources one of `actorIds` is an account manager of (request summaries). */
  async countManagedBy(tenantId: string, actorIds: readonly string[]): Promise<number> {
    return this.repo.countInSources(this.db, tenantId, await this.sources.sourceIds(tenantId, actorIds));
  }

  /** True when a record of the source has this accountName (in the caller's transaction). */
  accountNameTaken(trx: Exec, tenantId: string, sourceId: string, accountName: string): Promise<boolean> {
    return this.repo.accountNameTaken(trx, tenantId, sourceId, accountName);
  }

  /**
   * Up to `limit` records of a source by accountName, after `after`: exports page with it, and a
   * bulk import reads them in its transaction `trx`, under its lock.
   */
  pageOfSource(tenantId: string, sourceId: string, after: string | undefined, limit: number, trx: Exec = this.db): Promise<NonEmployeeRecord[]> {
    return this.repo.byAccountName(trx, tenantId, sourceId, after, limit);
  }

  /** Up to `limit` accountNames of a source, in order, after `after`. */
  accountNames(tenantId: string, sourceId: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.repo.accountNames(this.db, tenantId, sourceId, after, limit);
  }

  /** Removes the values of deleted custom attributes, in the transaction that deletes them. */
  removeCustomValues(trx: Exec, tenantId: string, sourceId: string, technicalNames: readonly string[]): Promise<void> {
    return this.repo.removeDataKeys(trx, tenantId, sourceId, technicalNames);
  }

  /** What the caller may change of a record: every field (`idn:nesr:update`), its endDate (the source's owner), or nothing. */
  async editable(principal: Principal, record: NonEmployeeRecord): Promise<'all' | 'endDate' | 'none'> {
    if (hasRight(principal, 'idn:nesr:update')) return 'all';
    const source = await this.sources.find(principal.tenantId, record.sourceId);
    return source.ownerId === principal.identityId ? 'endDate' : 'none';
  }

  /** True for `idn:nesr:update`, false for the source owner (endDate only); 403 for anyone else. */
  private async mayChangeAll(principal: Principal, record: NonEmployeeRecord): Promise<boolean> {
    if (hasRight(principal, 'idn:nesr:update')) return true;
    const source = await this.sources.find(principal.tenantId, record.sourceId);
    assertThat(source.ownerId === principal.identityId, () =>
      fail.forbidden('Updating a non-employee record requires idn:nesr:update; the owner of its source may change only endDate.'),
    );
    return false;
  }

  async replace(principal: Principal, id: string, input: RecordInput): Promise<NonEmployeeRecord> {
    const existing = await this.find(principal.tenantId, id);
    const all = await this.mayChangeAll(principal, existing);
    // One lookup of the source the body names: a move is refused before the body's other faults.
    const { validation, source } = await this.check(principal.tenantId, input, normalisedOf(existing));
    checkReplace(existing, input, source?.id);
    if (!validation.ok) throw fail.invalid(validation.causes);
    return this.save(principal, existing, validation.value, all);
  }

  async patch(principal: Principal, id: string, operations: readonly PatchOperation[]): Promise<NonEmployeeRecord> {
    const existing = await this.find(principal.tenantId, id);
    const all = await this.mayChangeAll(principal, existing);
    checkPatch(operations, all);
    const { record } = await this.prepare(principal.tenantId, patchedBody(existing, operations), normalisedOf(existing));
    return this.save(principal, existing, record, all);
  }

  private async save(principal: Principal, existing: NonEmployeeRecord, value: NormalisedRecord, all: boolean): Promise<NonEmployeeRecord> {
    const tenantId = principal.tenantId;
    const next = updatedRecord(existing, value, all, nowIso());
    if (!next) return existing;
    await this.conflictsAsErrors(value.accountName, 'update', () =>
      transaction(this.db, async (trx) => {
        assertThat(await this.repo.update(trx, tenantId, next), notFound(existing.id));
        const changes = changesOf(existing, next, RECORD_FIELDS);
        const actor = actorOf(principal);
        const reactivated = (await this.lifecycle?.written(trx, tenantId, [next], actor)) ?? [];
        await this.events.append(trx, tenantId, [this.event(actor, 'updated', { record: next, changes }), ...reactivated]);
      }),
    );
    return next;
  }

  async delete(principal: Principal, id: string): Promise<void> {
    assertThat(hasRight(principal, 'idn:nesr:delete'), () => fail.forbidden('Deleting a non-employee record requires idn:nesr:delete.'));
    const tenantId = principal.tenantId;
    await transaction(this.db, async (trx) => {
      const [record] = await this.repo.locate(trx, tenantId, idSpellings(id));
      assertThat(record, notFound(id));
      await this.sources.giveSlots(trx, tenantId, record.sourceId, 'record_count', 1);
      const deleted = await this.repo.delete(trx, tenantId, [record.id]);
      assertThat(deleted.length === 1, notFound(id));
      await this.gone(trx, principal, deleted);
    });
  }

  /** What the deletion of records owes, in its transaction: nothing more is due of them; their events. */
  private async gone(trx: Exec, principal: Principal, deleted: readonly NonEmployeeRecord[]): Promise<void> {
    await this.lifecycle?.deleted(
      trx,
      principal.tenantId,
      deleted.map((r) => r.id),
    );
    await this.logEvents(
      trx,
      principal.tenantId,
      actorOf(principal),
      'deleted',
      deleted.map((r) => ({ record: r })),
    );
  }

  /** Deletes every record named, or none: an unknown id is a 400 naming it. */
  async bulkDelete(principal: Principal, ids: readonly string[]): Promise<void> {
    assertThat(hasRight(principal, 'idn:nesr:delete'), () => fail.forbidden('Deleting non-employee records requires idn:nesr:delete.'));
    const tenantId = principal.tenantId;
    const normalised = ids.map(normalizeId);
    const unique = [...new Set(normalised)];
    const unknown = (missing: readonly string[]) => {
      const gone = new Set(missing);
      const causes = normalised.flatMap((id, i) =>
        gone.has(id) && normalised.indexOf(id) === i ? [{ field: `ids[${i}]`, text: `ids[${i}] ${ids[i]} does not name a non-employee record` }] : [],
      );
      return fail.invalid(causes);
    };
    await transaction(this.db, async (trx) => {
      const rows = await this.repo.locate(trx, tenantId, unique.flatMap(idSpellings));
      if (rows.length < unique.length) {
        const found = new Set(rows.map((r) => normalizeId(r.id)));
        throw unknown(unique.filter((id) => !found.has(id)));
      }
      const perSource = new Map<string, number>();
      for (const row of rows) perSource.set(row.sourceId, (perSource.get(row.sourceId) ?? 0) + 1);
      for (const sourceId of [...perSource.keys()].sort()) await this.sources.giveSlots(trx, tenantId, sourceId, 'record_count', perSource.get(sourceId)!);
      const deleted = await this.repo.delete(
        trx,
        tenantId,
        rows.map((r) => r.id),
      );
      if (deleted.length !== unique.length) {
        const gone = new Set(deleted.map((r) => normalizeId(r.id)));
        throw unknown(unique.filter((id) => !gone.has(id)));
      }
      await this.gone(trx, principal, deleted);
    });
  }
}
