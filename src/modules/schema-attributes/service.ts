/**
 * Schema attributes: 8 system attributes per source, up to 10 custom ones.
 * - list, get: `idn:nesr:read`, or the owner or an account manager of the source;
 * - create: `idn:nesr:create`; patch: `idn:nesr:update`; delete one or all custom: `idn:nesr:delete`.
 */
import type { Kysely } from 'kysely';
import { hasRight, type Principal, type Right } from '../../auth/principal.js';
import { type Exec, transaction } from '../../db/dialect.js';
import { uniqueViolation } from '../../db/errors.js';
import type { Database } from '../../db/types.js';
import { laterThan, newUuid, nowIso } from '../../domain/ids.js';
import { applyPatch, type PatchOperation } from '../../domain/json-patch.js';
import { LIMITS } from '../../domain/limits.js';
import { controlCharacterProblem, type TextKind } from '../../domain/text.js';
import { assertThat, type Cause, fail } from '../../errors/api-error.js';
import { actorOf, type Changes, changesOf } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { SourceService } from '../sources/service.js';
import type { SchemaAttribute } from './model.js';
import type { SchemaAttributeRepository } from './repository.js';
import { SYSTEM_ATTRIBUTES } from './system.js';

export interface SchemaAttributeInput {
  type: string;
  label: string;
  technicalName: string;
  helpText?: string | undefined;
  placeholder?: string | undefined;
  required?: boolean | undefined;
}

/** Removes the values of deleted custom attributes from the source's records (the records module). */
export type RemoveCustomValues = (trx: Exec, tenantId: string, sourceId: string, technicalNames: readonly string[]) => Promise<void>;

/** Only TEXT may be used for custom attributes (the body's description). */
const CUSTOM_TYPES = ['TEXT'];
const PATCHABLE = ['label', 'helpText', 'placeholder', 'required'] as const;
/** How often a patch is applied again after losing a race with another write of the attribute. */
const PATCH_ATTEMPTS = 50;

/** The kind of each text field of an attribute (src/domain/text.ts): the help text may span lines. */
const TEXT_KINDS = {
  type: 'single-line',
  label: 'single-line',
  technicalName: 'single-line',
  helpText: 'multi-line',
  placeholder: 'single-line',
} as const satisfies Record<string, TextKind>;
type TextField = keyof typeof TEXT_KINDS;

/**
 * A cause for each text field of `fields` holding a control character its kind does not allow;
 * a value equal to the one in `stored` (what a patch leaves as it is) is not checked.
 */
function controlCharacterCauses(fields: Partial<Record<TextField, unknown>>, stored: Partial<Record<TextField, unknown>> = {}): Cause[] {
  return (Object.keys(TEXT_KINDS) as TextField[]).flatMap((field) => {
    const value = fields[field];
    const problem = typeof value === 'string' && value !== stored[field] ? controlCharacterProblem(field, value, TEXT_KINDS[field]) : undefined;
    return problem === undefined ? [] : [{ field, text: problem }];
  });
}

export class SchemaAttributeService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: SchemaAttributeRepository,
    private readonly sources: SourceService,
    private readonly removeCustomValues: RemoveCustomValues,
    private readonly events: EventLog,
  ) {}

  /** Appends, in the caller's transaction, one `schema_attribute.<verb>` event per attribute. */
  private logEvents(trx: Exec, principal: Principal, verb: string, attributes: readonly SchemaAttribute[], changes?: Changes): Promise<unknown> {
    return this.events.append(
      trx,
      principal.tenantId,
      attributes.map((attribute) => ({
        type: `schema_attribute.${verb}`,
        actor: actorOf(principal),
        target: { type: 'schema_attribute', id: attribute.id, sourceId: attribute.sourceId },
        data: changes ? { object: attribute, changes } : { object: attribute },
      })),
    );
  }

  /** The attributes of a source, system ones first; no authorization (validation, import, approvals read them). */
  of(tenantId: string, sourceId: string): Promise<SchemaAttribute[]> {
    return this.repo.list(this.db, tenantId, sourceId);
  }

  /** Creates the system attributes of a new source, in the transaction that creates it. */
  async createSystemAttributes(trx: Exec, tenantId: string, sourceId: string, now: string): Promise<void> {
    const attributes = SYSTEM_ATTRIBUTES.map(
      (a, position): SchemaAttribute => ({
        id: newUuid(),
        sourceId,
        position,
        system: true,
        type: a.type,
        label: a.label,
        technicalName: a.technicalName,
        helpText: a.helpText,
        placeholder: null,
        required: true,
        created: now,
        modified: now,
      }),
    );
    await this.repo.insert(trx, tenantId, attributes);
  }

  private async readableSource(principal: Principal, sourceId: string): Promise<string> {
    const source = await this.sources.findNamed(principal.tenantId, sourceId);
    if (!hasRight(principal, 'idn:nesr:read') && !(await this.sources.isOwnerOrAccountManager(principal, source.id))) throw fail.forbidden();
    return source.id;
  }

  private async writableSource(principal: Principal, sourceId: string, right: Right): Promise<string> {
    assertThat(hasRight(principal, right), () => fail.forbidden(`This operation requires ${right}.`));
    return (await this.sources.findNamed(principal.tenantId, sourceId)).id;
  }

  async list(principal: Principal, sourceId: string, page?: { limit: number; offset: number }): Promise<SchemaAttribute[]> {
    const id = await this.readableSource(principal, sourceId);
    return this.repo.list(this.db, principal.tenantId, id, page?.limit, page?.offset);
  }

  async get(principal: Principal, sourceId: string, attributeId: string): Promise<SchemaAttribute> {
    const id = await this.readableSource(principal, sourceId);
    const attribute = await this.repo.byId(this.db, principal.tenantId, id, attributeId);
    assertThat(attribute, () => fail.notFound(`Schema attribute ${attributeId} was not found in source ${sourceId}.`));
    return attribute;
  }

  async create(principal: Principal, sourceId: string, input: SchemaAttributeInput): Promise<SchemaAttribute> {
    const id = await this.writableSource(principal, sourceId, 'idn:nesr:create');
    const controls = controlCharacterCauses(input);
    if (controls.length > 0) throw fail.invalid(controls);
    const type = input.type.toUpperCase();
    assertThat(CUSTOM_TYPES.includes(type), () =>
      fail.illegalValue('type', `type must be TEXT: only TEXT is supported for custom attributes, got '${input.type}'`),
    );
    const tenantId = principal.tenantId;
    const now = nowIso();
    try {
      return await transaction(this.db, async (trx) => {
        if (!(await this.sources.takeSlots(trx, tenantId, id, 'custom_attribute_count', 1))) {
          // No slot: the source is full, or it was deleted since it was looked up.
          await this.sources.find(tenantId, id, trx);
          throw fail.limitViolation(`A source can have at most ${LIMITS.customAttributesPerSource} custom schema attributes.`);
        }
        const attribute: SchemaAttribute = {
          id: newUuid(),
          sourceId: id,
          position: await this.repo.nextPosition(trx, tenantId, id),
          system: false,
          type,
          label: input.label,
          technicalName: input.technicalName,
          helpText: input.helpText ?? null,
          placeholder: input.placeholder ?? null,
          required: input.required ?? false,
          created: now,
          modified: now,
        };
        await this.repo.insert(trx, tenantId, [attribute]);
        await this.logEvents(trx, principal, 'created', [attribute]);
        return attribute;
      });
    } catch (error) {
      if (uniqueViolation(error) === 'schema_attributes_technical_name_key') {
        throw fail.referenceConflict(`The technicalName "${input.technicalName}" is already used by an attribute of this source.`, 'technicalName');
      }
      throw error;
    }
  }

  async patch(principal: Principal, sourceId: string, attributeId: string, operations: readonly PatchOperation[]): Promise<SchemaAttribute> {
    const id = await this.writableSource(principal, sourceId, 'idn:nesr:update');
    // Optimistic concurrency, as for sources: a write that finds the attribute modified since it
    // was read applies the patch again to the newer attribute.
    for (let attempt = 1; ; attempt++) {
      const next = await this.patchedAttribute(principal, id, sourceId, attributeId, operations);
      if (next.written) return next.attribute;
      if (attempt >= PATCH_ATTEMPTS) throw fail.internal();
    }
  }

  private async patchedAttribute(
    principal: Principal,
    id: string,
    sourceId: string,
    attributeId: string,
    operations: readonly PatchOperation[],
  ): Promise<{ attribute: SchemaAttribute; written: boolean }> {
    const tenantId = principal.tenantId;
    const attribute = await this.repo.byId(this.db, tenantId, id, attributeId);
    assertThat(attribute, () => fail.notFound(`Schema attribute ${attributeId} was not found in source ${sourceId}.`));
    const current = { label: attribute.label, helpText: attribute.helpText, placeholder: attribute.placeholder, required: attribute.required };
    const patched = applyPatch(current as Record<string, unknown>, operations, PATCHABLE);
    const causes: Cause[] = controlCharacterCauses(patched, current);
    const optionalText = (field: 'helpText' | 'placeholder', max: number): string | null => {
      const v = patched[field];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string' || v.length > max) {
        causes.push({ field, text: `${field} must be a string of at most ${max} characters` });
        return null;
      }
      return v;
    };
    const label = patched.label;
    if (typeof label !== 'string' || label.length < 1 || label.length > 128)
      causes.push({ field: 'label', text: 'label must be a string of 1 to 128 characters' });
    if (typeof patched.required !== 'boolean') causes.push({ field: 'required', text: 'required must be a boolean' });
    const next: SchemaAttribute = {
      ...attribute,
      label: String(label),
      helpText: optionalText('helpText', 1000),
      placeholder: optionalText('placeholder', 256),
      required: patched.required === true,
      modified: laterThan(attribute.modified),
    };
    if (causes.length > 0) throw fail.invalid(causes);
    if (attribute.system && next.required !== attribute.required) {
      throw fail.illegalUpdate('required cannot be changed on a system attribute', [
        { field: 'required', text: 'required cannot be changed on a system attribute' },
      ]);
    }
    const written = await transaction(this.db, async (trx) => {
      if (!(await this.repo.update(trx, tenantId, next, attribute.modified))) return false;
      await this.logEvents(trx, principal, 'updated', [next], changesOf(attribute, next, ['label', 'helpText', 'placeholder', 'required']));
      return true;
    });
    return { attribute: next, written };
  }

  /** Puts the custom attributes in the order of `order` (each custom attribute's id once), after the system ones. */
  async reorder(principal: Principal, sourceId: string, order: readonly string[]): Promise<SchemaAttribute[]> {
    const id = await this.writableSource(principal, sourceId, 'idn:nesr:update');
    const tenantId = principal.tenantId;
    return transaction(this.db, async (trx) => {
      // The source's row first: the lock order of every writer of its attributes and records.
      if (!(await this.sources.takeSlots(trx, tenantId, id, 'custom_attribute_count', 0))) await this.sources.find(tenantId, id, trx);
      const all = await this.repo.list(trx, tenantId, id);
      const custom = all.filter((a) => !a.system);
      const byId = new Map(custom.map((a) => [a.id.replace(/-/g, '').toLowerCase(), a]));
      const causes: Cause[] = [];
      const seen = new Set<string>();
      order.forEach((given, i) => {
        const key = given.replace(/-/g, '').toLowerCase();
        if (!byId.has(key)) causes.push({ field: `order[${i}]`, text: `order[${i}] ${given} is not a custom schema attribute of this source` });
        else if (seen.has(key)) causes.push({ field: `order[${i}]`, text: `order[${i}] ${given} is listed twice` });
        seen.add(key);
      });
      const missing = custom.filter((a) => !seen.has(a.id.replace(/-/g, '').toLowerCase()));
      if (causes.length === 0 && missing.length > 0)
        causes.push({
          field: 'order',
          text: `order must name every custom schema attribute of the source; missing: ${missing.map((a) => a.technicalName).join(', ')}`,
        });
      if (causes.length > 0) throw fail.invalid(causes);
      const first = all.filter((a) => a.system).reduce((max, a) => Math.max(max, a.position + 1), 0);
      const moved: SchemaAttribute[] = [];
      order.forEach((given, i) => {
        const attribute = byId.get(given.replace(/-/g, '').toLowerCase())!;
        if (attribute.position !== first + i) moved.push({ ...attribute, position: first + i, modified: laterThan(attribute.modified) });
      });
      await this.repo.setPositions(trx, tenantId, moved);
      for (const next of moved) {
        const before = custom.find((a) => a.id === next.id)!;
        await this.logEvents(trx, principal, 'updated', [next], changesOf(before, next, ['position']));
      }
      return this.repo.list(trx, tenantId, id);
    });
  }

  async delete(principal: Principal, sourceId: string, attributeId: string): Promise<void> {
    const id = await this.writableSource(principal, sourceId, 'idn:nesr:delete');
    const attribute = await this.repo.byId(this.db, principal.tenantId, id, attributeId);
    assertThat(attribute, () => fail.notFound(`Schema attribute ${attributeId} was not found in source ${sourceId}.`));
    assertThat(!attribute.system, () => fail.illegalUpdate(`${attribute.technicalName} is a mandatory system attribute and cannot be deleted.`));
    await this.deleteCustom(principal, id, attribute.id);
  }

  async deleteAllCustom(principal: Principal, sourceId: string): Promise<void> {
    const id = await this.writableSource(principal, sourceId, 'idn:nesr:delete');
    await this.deleteCustom(principal, id);
  }

  /** Deletes custom attributes (one, or all), gives their slots back and removes their values from the records, in one transaction. */
  private async deleteCustom(principal: Principal, sourceId: string, id?: string): Promise<void> {
    const tenantId = principal.tenantId;
    await transaction(this.db, async (trx) => {
      // The source's row first: the lock order of every writer of its records.
      if (!(await this.sources.takeSlots(trx, tenantId, sourceId, 'custom_attribute_count', 0))) return;
      const deleted = await this.repo.deleteCustom(trx, tenantId, sourceId, id);
      if (deleted.length === 0) return;
      await this.removeCustomValues(
        trx,
        tenantId,
        sourceId,
        deleted.map((a) => a.technicalName),
      );
      await this.sources.giveSlots(trx, tenantId, sourceId, 'custom_attribute_count', deleted.length);
      await this.logEvents(trx, principal, 'deleted', deleted);
    });
  }
}
