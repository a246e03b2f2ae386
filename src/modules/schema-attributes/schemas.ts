/** Schema attribute shapes, and Beta's older ones. */
import { Type } from '@sinclair/typebox';
import { DateTime, PathId } from '../../http/nelm-schemas.js';
import { Limit, Offset } from '../../collections/paging.js';

const attributeFields = (types: string[], nullableText: boolean) => {
  const text = (description: string) =>
    nullableText ? Type.Optional(Type.Union([Type.String(), Type.Null()], { description })) : Type.Optional(Type.String({ description }));
  return {
    id: Type.String({ description: 'Schema Attribute Id' }),
    system: Type.Boolean({ default: false, description: 'True if this schema attribute is mandatory on all non-employees sources.' }),
    modified: DateTime('When the schema attribute was last modified.'),
    created: DateTime('When the schema attribute was created.'),
    type: Type.Union(types.map((t) => Type.Literal(t)) as never, { description: 'Enum representing the type of data a schema attribute accepts.' }),
    label: Type.String({ description: 'Label displayed on the UI for this schema attribute.' }),
    technicalName: Type.String({ description: 'The technical name of the attribute. Must be unique per source.' }),
    helpText: text('help text displayed by UI.'),
    placeholder: text('Hint text that fills UI box.'),
    required: Type.Boolean({ default: false, description: 'If true, the schema attribute is required for all non-employees in the source' }),
  };
};

export const NonEmployeeSchemaAttribute = Type.Object(attributeFields(['TEXT', 'DATE', 'IDENTITY'], false), { title: 'NonEmployeeSchemaAttribute' });
export const BetaNonEmployeeSchemaAttribute = Type.Object(attributeFields(['TEXT', 'DATE', 'IDENTITY', 'PHONE', 'EMAIL'], true));

/**
 * A technical name is a CSV column and a key of a record's `data`: a letter, then letters, digits,
 * `.`, `_` or `-` (the spec's example is `account.name`).
 */
export const TECHNICAL_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9._-]{0,63}$';

export const SchemaAttributeBody = Type.Object(
  {
    type: Type.String({ maxLength: 32, description: "Type of the attribute. Only type 'TEXT' is supported for custom attributes." }),
    label: Type.String({ minLength: 1, maxLength: 128, description: 'Label displayed on the UI for this schema attribute.' }),
    technicalName: Type.String({ pattern: TECHNICAL_NAME_PATTERN, description: 'The technical name of the attribute. Must be unique per source.' }),
    helpText: Type.Optional(Type.String({ maxLength: 1000, description: 'help text displayed by UI.' })),
    placeholder: Type.Optional(Type.String({ maxLength: 256, description: 'Hint text that fills UI box.' })),
    required: Type.Optional(Type.Boolean({ description: 'If true, the schema attribute is required for all non-employees in the source' })),
  },
  { additionalProperties: false },
);

/** The custom attributes' new order (an extension): every custom attribute's id, each once. */
export const AttributeOrderBody = Type.Object(
  {
    order: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      maxItems: 10,
      description: "The source's custom schema attribute ids, each once, in the order wanted; system attributes stay first",
    }),
  },
  { additionalProperties: false },
);

export const SourceIdParams = Type.Object({ sourceId: PathId('The Source id') });
export const AttributeParams = Type.Object({ sourceId: PathId('The Source id'), attributeId: PathId('The Schema Attribute Id (UUID)') });
export const BetaListQuery = Type.Object({ limit: Limit, offset: Offset });
