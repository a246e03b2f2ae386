/** A schema attribute of a source, the mapping of its rows, and its wire shape. */
import type { SchemaAttributeTable } from '../../db/types.js';

export interface SchemaAttribute {
  id: string;
  sourceId: string;
  /** System attributes first (0–7), then custom ones in the order they were created. */
  position: number;
  system: boolean;
  type: string;
  label: string;
  technicalName: string;
  helpText: string | null;
  placeholder: string | null;
  required: boolean;
  created: string;
  modified: string;
}

export function toAttribute(row: SchemaAttributeTable): SchemaAttribute {
  return {
    id: row.id,
    sourceId: row.source_id,
    position: Number(row.position),
    system: Number(row.system) === 1,
    type: row.type,
    label: row.label,
    technicalName: row.technical_name,
    helpText: row.help_text,
    placeholder: row.placeholder,
    required: Number(row.required) === 1,
    created: row.created,
    modified: row.modified,
  };
}

export function toAttributeRow(tenantId: string, a: SchemaAttribute): SchemaAttributeTable {
  return {
    tenant_id: tenantId,
    id: a.id,
    source_id: a.sourceId,
    position: a.position,
    system: a.system ? 1 : 0,
    type: a.type,
    label: a.label,
    technical_name: a.technicalName,
    help_text: a.helpText,
    placeholder: a.placeholder,
    required: a.required ? 1 : 0,
    created: a.created,
    modified: a.modified,
  };
}

/** NonEmployeeSchemaAttribute on the wire: helpText and placeholder only when set. */
export function attributeDto(a: SchemaAttribute) {
  return {
    id: a.id,
    system: a.system,
    modified: a.modified,
    created: a.created,
    type: a.type,
    label: a.label,
    technicalName: a.technicalName,
    ...(a.helpText !== null ? { helpText: a.helpText } : {}),
    ...(a.placeholder !== null ? { placeholder: a.placeholder } : {}),
    required: a.required,
  };
}
