/**
 * Governance groups: named sets of identities that a source may name as approver or account
 * manager (any member acts for the group). No HTTP here.
 */
import type { Kysely } from 'kysely';
import { newId } from '../../auth/secrets.js';
import { type Exec, transaction } from '../../db/dialect.js';
import { isForeignKeyViolation, uniqueViolation } from '../../db/errors.js';
import type { Database } from '../../db/types.js';
import { nowIso } from '../../domain/ids.js';
import { assertThat, fail } from '../../errors/api-error.js';
import { type Actor, type Changes, changesOf, type EventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { Workgroup } from './model.js';
import type { DirectoryRepository } from './repository.js';
import { refuseControlCharacters } from './validation.js';

export interface WorkgroupInput {
  name: string;
  description?: string | null | undefined;
  members: readonly string[];
}

/** The sources that name a governance group as approver or account manager (the sources module answers). */
export type GroupReferences = (tenantId: string, groupId: string) => Promise<string[]>;

/** Appends one event about a directory object, in the caller's transaction. */
export function logDirectoryEvent(
  events: EventLog,
  trx: Exec,
  tenantId: string,
  actor: Actor,
  type: string,
  id: string,
  object: unknown,
  changes?: Changes,
): Promise<unknown> {
  const [kind] = type.split('.');
  const event: EventInput = { type, actor, target: { type: kind!, id }, data: changes ? { object, changes } : { object } };
  return events.append(trx, tenantId, [event]);
}

export class WorkgroupService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: DirectoryRepository,
    private readonly groupReferences: GroupReferences,
    private readonly events: EventLog,
  ) {}

  private async checkMembers(tenantId: string, members: readonly string[]): Promise<string[]> {
    const unique = [...new Set(members)];
    const missing = await this.repo.missingIdentities(this.db, tenantId, unique);
    if (missing.length > 0) throw fail.invalid(missing.map((id) => ({ field: 'members', text: `Identity ${id} was not found.` })));
    return unique;
  }

  async create(tenantId: string, input: WorkgroupInput, actor: Actor = null): Promise<Workgroup> {
    refuseControlCharacters({ name: input.name, description: input.description }, ['description']);
    const now = nowIso();
    const group: Workgroup = {
      id: newId(),
      name: input.name,
      description: input.description ?? null,
      members: await this.checkMembers(tenantId, input.members),
      created: now,
      modified: now,
    };
    await this.saveWorkgroup(group, async (trx) => {
      await this.repo.insertWorkgroup(trx, tenantId, group);
      await logDirectoryEvent(this.events, trx, tenantId, actor, 'workgroup.created', group.id, group);
    });
    return this.get(tenantId, group.id);
  }

  async get(tenantId: string, id: string): Promise<Workgroup> {
    const group = await this.repo.workgroupById(this.db, tenantId, id);
    assertThat(group, () => fail.notFound(`Governance group ${id} was not found.`));
    return group;
  }

  list(tenantId: string, limit: number, offset: number): Promise<Workgroup[]> {
    return this.repo.listWorkgroups(this.db, tenantId, limit, offset);
  }

  async update(tenantId: string, id: string, changes: Partial<WorkgroupInput>, actor: Actor): Promise<Workgroup> {
    refuseControlCharacters({ name: changes.name, description: changes.description }, ['description']);
    const group = await this.get(tenantId, id);
    const next: Workgroup = {
      ...group,
      name: changes.name ?? group.name,
      description: changes.description === undefined ? group.description : changes.description,
      members: changes.members ? await this.checkMembers(tenantId, changes.members) : group.members,
      modified: nowIso(),
    };
    await this.saveWorkgroup(next, async (trx) => {
      await this.repo.updateWorkgroup(trx, tenantId, next);
      await logDirectoryEvent(this.events, trx, tenantId, actor, 'workgroup.updated', id, next, changesOf(group, next, ['name', 'description', 'members']));
    });
    return this.get(tenantId, id);
  }

  /** Refused while a source names the group as approver or account manager (it would dangle). */
  async delete(tenantId: string, id: string, actor: Actor): Promise<void> {
    const sources = await this.groupReferences(tenantId, id);
    if (sources.length > 0) {
      throw fail.referenceConflict(
        `Governance group ${id} is an approver or account manager of non-employee sources ${sources.join(', ')}; remove it from them first.`,
      );
    }
    const deleted = await transaction(this.db, async (trx) => {
      const group = await this.repo.workgroupById(trx, tenantId, id);
      if (!group || !(await this.repo.deleteWorkgroup(trx, tenantId, id))) return false;
      await logDirectoryEvent(this.events, trx, tenantId, actor, 'workgroup.deleted', id, group);
      return true;
    });
    assertThat(deleted, () => fail.notFound(`Governance group ${id} was not found.`));
  }

  private async saveWorkgroup(group: Workgroup, write: (trx: Exec) => Promise<void>): Promise<void> {
    try {
      await transaction(this.db, write);
    } catch (error) {
      if (uniqueViolation(error) === 'workgroups_name_key') throw fail.referenceConflict(`A governance group named "${group.name}" already exists.`, 'name');
      if (isForeignKeyViolation(error))
        throw fail.badRequest('A member identity no longer exists.', [{ field: 'members', text: 'A member identity no longer exists.' }]);
      throw error;
    }
  }
}
