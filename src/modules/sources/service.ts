/**
 * Non-employee sources: the rules of SailPoint's source operations (docs/authorization.md). No HTTP, no SQL.
 *
 * Who may do what (docs/authorization.md):
 * - create: org admins (the spec's only user level for it is ORG_ADMIN);
 * - list: `idn:nesr:read` for all sources or any manager's; anyone for `requested-for=me`
 *   (the sources they are an account manager of, directly or through a governance group);
 * - get: `idn:nesr:read`, or an account manager of the source;
 * - patch: `idn:nesr:update`; delete: `idn:nesr:delete`.
 */
import { randomInt } from 'node:crypto';
import { fail, assertThat, type Cause } from '../../errors/api-error.js';
import { hasRight, type Principal } from '../../auth/principal.js';
import { applyPatch, type PatchOperation } from '../../domain/json-patch.js';
import { LIMITS } from '../../domain/limits.js';
import { SYSTEM_ATTRIBUTES } from '../../domain/system-attributes.js';
import { newId } from '../../auth/secrets.js';
import { normalizeId, nowIso } from '../../domain/ids.js';
import { parseSorters, type SortSpec } from '../../collections/query.js';
import type { DirectoryService } from '../directory/service.js';
import type { Source, SourceMember, SourceRepository } from './repository.js';

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

export const SOURCE_SORTS: SortSpec = {
  fields: { name: 'sources.name', created: 'sources.created', sourceId: 'sources.isc_source_id' },
  tiebreak: 'sources.id',
};

/** How often a patch is applied again after losing a race with another write of the source. */
const PATCH_ATTEMPTS = 50;

/** Now, or 1 ms after `previous` if now is not later: `modified` then tells every write apart. */
export function laterThan(previous: string): string {
  const now = nowIso();
  return now > previous ? now : new Date(Date.parse(previous) + 1).toISOString();
}

/** The fields a JSON Patch may change (`patchNonEmployeeSource`). */
const PATCHABLE = ['name', 'description', 'approvers', 'accountManagers'] as const;

export class SourceService {
  constructor(
    readonly repo: SourceRepository,
    private readonly directory: DirectoryService,
  ) {}

  /** Resolves `{id}` references to identities or governance groups; one cause per bad entry. */
  private async resolveMembers(tenantId: string, field: string, refs: readonly { id: string }[], max: number, causes: Cause[]): Promise<SourceMember[]> {
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
    return ids.flatMap((id, i): SourceMember[] => {
      if (!notIdentities.has(id)) return [{ type: 'IDENTITY', id }];
      if (!notGroups.has(id)) return [{ type: 'GOVERNANCE_GROUP', id }];
      causes.push({ field: `${field}[${i}].id`, text: `${field}[${i}].id ${id} is neither an identity nor a governance group` });
      return [];
    });
  }

  private async checkOwner(tenantId: string, ownerId: string, causes: Cause[]): Promise<string> {
    const id = normalizeId(ownerId);
    if ((await this.directory.missingIdentities(tenantId, [id])).length > 0) {
      causes.push({ field: 'owner.id', text: `owner.id ${ownerId} is not an identity` });
    }
    return id;
  }

  async create(principal: Principal, input: SourceInput): Promise<Source> {
    assertThat(principal.admin, () => fail.forbidden('Only an org admin may create a non-employee source.'));
    const tenantId = principal.tenantId;
    const causes: Cause[] = [];
    const ownerId = await this.checkOwner(tenantId, input.owner.id, causes);
    const approvers = await this.resolveMembers(tenantId, 'approvers', input.approvers ?? [], LIMITS.approversPerSource, causes);
    const accountManagers = await this.resolveMembers(tenantId, 'accountManagers', input.accountManagers ?? [], LIMITS.accountManagersPerSource, causes);
    if (causes.length > 0) throw fail.invalid(causes);

    const now = nowIso();
    const source: Source = {
      id: newId(),
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
    await this.repo.transaction(async (trx) => {
      const reserved = await this.repo.reserveSourceSlot(trx, tenantId, LIMITS.sourcesPerTenant);
      if (!reserved) throw fail.limitViolation(`An org can have at most ${LIMITS.sourcesPerTenant} non-employee sources.`);
      await this.repo.insert(trx, tenantId, source);
      await this.repo.insertAttributes(
        trx,
        tenantId,
        source.id,
        SYSTEM_ATTRIBUTES.map((a, position) => ({
          id: newId(),
          position,
          system: true,
          type: a.type,
          label: a.label,
          technicalName: a.technicalName,
          helpText: a.helpText,
          placeholder: null,
          required: true,
        })),
        now,
      );
    });
    return source;
  }

  /** The source, if the caller may read it: `idn:nesr:read` or an account manager of it. */
  async get(principal: Principal, id: string): Promise<Source> {
    const source = await this.find(principal.tenantId, id);
    if (!hasRight(principal, 'idn:nesr:read') && !(await this.isAccountManager(principal, source.id))) throw fail.forbidden();
    return source;
  }

  /** The source or a 404; no authorization (for services that check their own rules). */
  async find(tenantId: string, id: string): Promise<Source> {
    const source = await this.repo.byId(tenantId, normalizeId(id));
    assertThat(source, () => fail.notFound(`Non-employee source ${id} was not found.`));
    return source;
  }

  async isAccountManager(principal: Principal, sourceId: string): Promise<boolean> {
    return this.repo.isAccountManager(principal.tenantId, sourceId, await this.directory.actorIds(principal));
  }

  async list(principal: Principal, params: ListSourcesParams): Promise<{ sources: Source[]; total?: number }> {
    let managedBy: string[] | undefined;
    const requestedFor = params.requestedFor;
    if (requestedFor === undefined || requestedFor === '') {
      assertThat(hasRight(principal, 'idn:nesr:read'), () =>
        fail.forbidden('Listing every source requires idn:nesr:read; account managers pass requested-for=me.'),
      );
    } else if (requestedFor === 'me' || normalizeId(requestedFor) === principal.identityId) {
      managedBy = await this.directory.actorIds(principal);
    } else {
      assertThat(hasRight(principal, 'idn:nesr:read'), () => fail.forbidden('Listing the sources of another identity requires idn:nesr:read.'));
      managedBy = await this.directory.actorIds({ ...principal, identityId: normalizeId(requestedFor) });
    }
    const sorters = parseSorters(params.sorters, SOURCE_SORTS);
    const sources = await this.repo.list(principal.tenantId, { managedBy, sorters, limit: params.limit, offset: params.offset });
    const total = params.count ? await this.repo.count(principal.tenantId, managedBy) : undefined;
    return { sources, ...(total !== undefined ? { total } : {}) };
  }

  async patch(principal: Principal, id: string, operations: readonly PatchOperation[]): Promise<Source> {
    assertThat(hasRight(principal, 'idn:nesr:update'), () => fail.forbidden('Patching a source requires idn:nesr:update.'));
    // Optimistic concurrency: the write applies only if the source is still as it was read (same
    // `modified`); otherwise another write came first and the patch is applied again to its result,
    // so concurrent patches (two `add /accountManagers/-`) are not lost.
    for (let attempt = 1; ; attempt++) {
      const next = await this.patchedSource(principal.tenantId, id, operations);
      if (next.written) return next.source;
      if (attempt >= PATCH_ATTEMPTS) throw fail.internal();
    }
  }

  private async patchedSource(tenantId: string, id: string, operations: readonly PatchOperation[]): Promise<{ source: Source; written: boolean }> {
    const source = await this.find(tenantId, id);
    const patched = applyPatch(
      {
        name: source.name,
        description: source.description,
        approvers: source.approvers.map((m) => ({ id: m.id })),
        accountManagers: source.accountManagers.map((m) => ({ id: m.id })),
      } as Record<string, unknown>,
      operations,
      PATCHABLE,
    );
    const causes: Cause[] = [];
    const text = (field: 'name' | 'description', max: number, min: number) => {
      const v = patched[field];
      if (typeof v !== 'string' || v.length < min || v.length > max) {
        causes.push({ field, text: `${field} must be a string of ${min} to ${max} characters` });
        return '';
      }
      return v;
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
        const ref =
          typeof item === 'string'
            ? item
            : typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string'
              ? (item as { id: string }).id
              : undefined;
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
    const written = await this.repo.transaction((trx) => this.repo.update(trx, tenantId, next, source.modified));
    return { source: next, written };
  }

  async delete(principal: Principal, id: string): Promise<void> {
    assertThat(hasRight(principal, 'idn:nesr:delete'), () => fail.forbidden('Deleting a source requires idn:nesr:delete.'));
    const deleted = await this.repo.delete(principal.tenantId, normalizeId(id));
    assertThat(deleted, () => fail.notFound(`Non-employee source ${id} was not found.`));
  }
}
