/**
 * Non-employee records: the rules of SailPoint's record operations (docs/authorization.md). No HTTP; the SQL is in the
 * repository, the field rules in domain/records/validation.ts.
 *
 * Who may do what:
 * - list: `idn:nesr:read` sees every record; anyone else sees the records of the sources they
 *   (or one of their governance groups) are an account manager of, which may be none;
 * - get: `idn:nesr:read`, or an account manager of the record's source (403 otherwise);
 * - create: `idn:nesr:create`; delete and bulk delete: `idn:nesr:delete`;
 * - replace (PUT) and patch: `idn:nesr:update` for every writable field, or the source owner for
 *   endDate only (any other change is a 403). See `updates.ts`.
 */
import { fail, assertThat } from '../../errors/api-error.js';
import { hasRight, type Principal } from '../../auth/principal.js';
import { uniqueViolation } from '../../db/errors.js';
import { LIMITS } from '../../domain/limits.js';
import { newId } from '../../auth/secrets.js';
import { isId, normalizeId, nowIso } from '../../domain/ids.js';
import { parseListFilter } from '../../collections/query.js';
import { validateRecordInput, type NormalisedRecord, type RecordInput, type RecordValidation } from '../../domain/records/validation.js';
import type { DirectoryService } from '../directory/service.js';
import type { SourceService } from '../sources/service.js';
import type { SchemaAttributeRepository } from '../schema-attributes/repository.js';
import type { NonEmployeeRecord, RecordListQuery, RecordRepository, RecordSource } from './repository.js';
import { RECORD_FILTERS, recordSorters } from './collection.js';
import { patchRecord, replaceRecord } from './updates.js';
import type { PatchOperation } from '../../domain/json-patch.js';

export interface ListRecordsParams {
  filters?: string | undefined;
  sorters?: string | undefined;
  limit: number;
  offset: number;
  count: boolean;
}

/** A body that passed validation, and the source it names. */
export interface PreparedRecord {
  record: NormalisedRecord;
  source: RecordSource;
}

export class RecordService {
  constructor(
    readonly repo: RecordRepository,
    private readonly attributes: SchemaAttributeRepository,
    private readonly sources: SourceService,
    private readonly directory: DirectoryService,
  ) {}

  /**
   * Checks a NonEmployeeRequestBody against the source it names (its schema attributes) and the
   * directory (the manager alias). Never throws for invalid input: the result lists the causes.
   * @param existing the stored record, when `input` replaces it (see RecordValidationContext)
   */
  async check(tenantId: string, input: RecordInput, existing?: NormalisedRecord): Promise<{ validation: RecordValidation; source?: RecordSource }> {
    const rawSource = typeof input.sourceId === 'string' ? input.sourceId.trim() : '';
    const manager = typeof input.manager === 'string' ? input.manager.trim() : '';
    const [source, managerIdentity] = await Promise.all([
      isId(rawSource) ? this.repo.source(tenantId, normalizeId(rawSource)) : undefined,
      manager !== '' ? this.directory.identityByAlias(tenantId, manager) : undefined,
    ]);
    const attributes = source ? await this.attributes.list(tenantId, source.id) : null;
    const validation = validateRecordInput(input, { attributes, managerExists: managerIdentity !== undefined, existing });
    return { validation, ...(source ? { source } : {}) };
  }

  /** `check`, throwing the 400 (one cause per field) when the body is invalid. */
  async prepare(tenantId: string, input: RecordInput, existing?: NormalisedRecord): Promise<PreparedRecord> {
    const { validation, source } = await this.check(tenantId, input, existing);
    if (!validation.ok) throw fail.invalid(validation.causes);
    return { record: validation.value, source: source! };
  }

  /** Runs `work`, turning a duplicate accountName into the contract's 400.1.409. */
  async conflictsAsErrors<T>(accountName: string, verb: 'create' | 'update', work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (uniqueViolation(error) === 'records_account_name_key') {
        throw fail.referenceConflict(`Unable to ${verb} Non-Employee because the accountName "${accountName}" is already being used.`, 'accountName');
      }
      throw error;
    }
  }

  /**
   * Stores a validated record: takes one of its source's 20,000 slots and inserts it in one
   * transaction. No authorization (requests call this when an approval completes).
   */
  async persist(tenantId: string, value: NormalisedRecord): Promise<NonEmployeeRecord> {
    const now = nowIso();
    const record: NonEmployeeRecord = { id: newId(), ...value, created: now, modified: now };
    await this.conflictsAsErrors(value.accountName, 'create', () =>
      this.repo.transaction(async (trx) => {
        if (!(await this.repo.reserveSlots(trx, tenantId, value.sourceId, 1, LIMITS.recordsPerSource))) {
          const gone = !(await this.repo.source(tenantId, value.sourceId, trx));
          if (gone) throw fail.invalid([{ field: 'sourceId', text: `sourceId ${value.sourceId} does not name a non-employee source` }]);
          throw fail.limitViolation(`A non-employee source can hold at most ${LIMITS.recordsPerSource} records.`);
        }
        await this.repo.insert(trx, tenantId, record);
      }),
    );
    return record;
  }

  async create(principal: Principal, input: RecordInput): Promise<NonEmployeeRecord> {
    assertThat(hasRight(principal, 'idn:nesr:create'), () => fail.forbidden('Creating a non-employee record requires idn:nesr:create.'));
    const { record } = await this.prepare(principal.tenantId, input);
    return this.persist(principal.tenantId, record);
  }

  /** The record or a 404; no authorization. */
  async find(tenantId: string, id: string): Promise<NonEmployeeRecord> {
    const record = await this.repo.byId(tenantId, normalizeId(id));
    assertThat(record, () => fail.notFound(`Non-employee record ${id} was not found.`));
    return record;
  }

  async get(principal: Principal, id: string): Promise<NonEmployeeRecord> {
    const record = await this.find(principal.tenantId, id);
    await this.assertReadable(principal, record.sourceId);
    return record;
  }

  /** `get`, the record already serialized as the JSON the get operation sends (see wire.ts). */
  async getJson(principal: Principal, id: string): Promise<string> {
    const found = await this.repo.byIdJson(principal.tenantId, normalizeId(id));
    assertThat(found, () => fail.notFound(`Non-employee record ${id} was not found.`));
    await this.assertReadable(principal, found.sourceId);
    return found.json;
  }

  private async assertReadable(principal: Principal, sourceId: string): Promise<void> {
    if (!hasRight(principal, 'idn:nesr:read') && !(await this.sources.isAccountManager(principal, sourceId))) {
      throw fail.forbidden('Reading a record requires idn:nesr:read, or being an account manager of its source.');
    }
  }

  /** A page of records, already serialized as the JSON array the list operation sends. */
  async listJson(principal: Principal, params: ListRecordsParams): Promise<{ json: string | Buffer; total?: number }> {
    const query = await this.listQuery(principal, params);
    const json = await this.repo.listJson(principal.tenantId, query);
    return { json, ...(await this.listTotal(principal, params, query)) };
  }

  private async listQuery(principal: Principal, params: ListRecordsParams): Promise<RecordListQuery> {
    const filter = parseListFilter(params.filters, RECORD_FILTERS);
    const sorters = recordSorters(params.sorters);
    const managedBy = hasRight(principal, 'idn:nesr:read') ? undefined : await this.directory.actorIds(principal);
    return { managedBy, filter, sorters, limit: params.limit, offset: params.offset };
  }

  private async listTotal(principal: Principal, params: ListRecordsParams, query: RecordListQuery): Promise<{ total?: number }> {
    return params.count ? { total: await this.repo.count(principal.tenantId, { managedBy: query.managedBy, filter: query.filter }) } : {};
  }

  replace(principal: Principal, id: string, input: RecordInput): Promise<NonEmployeeRecord> {
    return replaceRecord(this, principal, id, input);
  }

  patch(principal: Principal, id: string, operations: readonly PatchOperation[]): Promise<NonEmployeeRecord> {
    return patchRecord(this, principal, id, operations);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    assertThat(hasRight(principal, 'idn:nesr:delete'), () => fail.forbidden('Deleting a non-employee record requires idn:nesr:delete.'));
    const tenantId = principal.tenantId;
    const recordId = normalizeId(id);
    await this.repo.transaction(async (trx) => {
      const record = await this.repo.byId(tenantId, recordId, trx);
      assertThat(record, () => fail.notFound(`Non-employee record ${id} was not found.`));
      // Source row first, then the record: the lock order of every record write.
      await this.repo.releaseSlots(trx, tenantId, record.sourceId, 1);
      const deleted = await this.repo.deleteMany(trx, tenantId, [recordId]);
      assertThat(deleted.length === 1, () => fail.notFound(`Non-employee record ${id} was not found.`));
    });
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
    await this.repo.transaction(async (trx) => {
      const rows = await this.repo.locate(tenantId, unique, trx);
      if (rows.length < unique.length) {
        const found = new Set(rows.map((r) => r.id));
        throw unknown(unique.filter((id) => !found.has(id)));
      }
      const perSource = new Map<string, number>();
      for (const row of rows) perSource.set(row.sourceId, (perSource.get(row.sourceId) ?? 0) + 1);
      for (const sourceId of [...perSource.keys()].sort()) await this.repo.releaseSlots(trx, tenantId, sourceId, perSource.get(sourceId)!);
      const deleted = new Set((await this.repo.deleteMany(trx, tenantId, unique)).map((r) => r.id));
      if (deleted.size !== unique.length) throw unknown(unique.filter((id) => !deleted.has(id)));
    });
  }
}
