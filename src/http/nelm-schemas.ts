/** Shapes shared by several NELM resources. */
import { Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../domain/ids.js';

export const DateTime = (description: string) => Type.String({ format: 'date-time', description });

export const JsonPatchOperation = Type.Object(
  {
    op: Type.Unsafe<'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test'>({
      type: 'string',
      enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'],
      description: 'The operation to be performed',
    }),
    path: Type.String({ maxLength: 512, description: 'A string JSON Pointer representing the target path to an element to be affected by the operation' }),
    from: Type.Optional(Type.String({ maxLength: 512 })),
    value: Type.Optional(Type.Unknown({ description: 'The value to be used for the operation, required for "add" and "replace" operations' })),
  },
  { additionalProperties: false, title: 'JsonPatchOperation' },
);

export const JsonPatch = Type.Array(JsonPatchOperation, { maxItems: 100, description: 'A list of JSON Patch operations according to RFC 6902' });

export const IdentityReference = Type.Object({
  type: Type.Union([Type.Literal('GOVERNANCE_GROUP'), Type.Literal('IDENTITY')], {
    description: 'Identifies if the identity is a normal identity or a governance group',
  }),
  id: Type.String({ description: 'Identity id' }),
});

/** A path id: 32 hex characters, or a dashed UUID. */
export const PathId = (description: string) => Type.String({ pattern: ID_PATTERN, description });
