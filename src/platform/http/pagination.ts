import { Type, type TSchema } from '@sinclair/typebox';
import { documentedId } from './openapi.js';

/**
 * The query fields of a cursor-paginated list (the cursor logic that reads them is in ../pagination.ts):
 * newest first; `starting_after` pages to older objects, `ending_before` to newer.
 */
export const PageQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Number of objects to return (1–100).' }),
    starting_after: Type.Optional(Type.String({ maxLength: 64, description: 'Object id: return objects created before it.' })),
    ending_before: Type.Optional(Type.String({ maxLength: 64, description: 'Object id: return objects created after it.' })),
  },
  { additionalProperties: false },
);

/** A page of `item`s; named `<Item>List` in the OpenAPI document when the item schema has an `$id`. */
export function ListSchema<T extends TSchema>(item: T) {
  return Type.Object(
    {
      object: Type.Literal('list'),
      data: Type.Array(item),
      has_more: Type.Boolean({ description: 'Whether more objects follow: pass the last id as `starting_after` to get them.' }),
    },
    documentedId(item) ? { $id: `${documentedId(item)}List` } : {},
  );
}

/**
 * The error object as the serializer writes it. The document shows the stricter `#/components/schemas/Error`
 * (openapi-errors.ts: enums, doc_url required); here doc_url is optional so an answer without one still serializes.
 */
export const ErrorResponseSchema = Type.Object(
  {
    error: Type.Object({
      type: Type.String(),
      code: Type.String(),
      message: Type.String(),
      param: Type.Optional(Type.String()),
      doc_url: Type.String({ description: 'Where this code is explained: `<public URL>/docs/errors#<code>`.' }),
      request_id: Type.String(),
    }),
  },
  { $id: 'Error' },
);

export function errorResponses(...statuses: number[]): Record<number, typeof ErrorResponseSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorResponseSchema]));
}
