import { Type, type TProperties, type TSchema } from '@sinclair/typebox';
import { limits } from '../core/limits.js';

/**
 * The TypeBox building blocks every API document is made of, shared by the HTTP routes'
 * schemas (src/http/schemas.ts) and the documents the CLI validates files with: closed objects,
 * and strings and numbers bounded by core/limits.ts.
 */

/** A closed object: unknown fields are refused. */
export function Closed<P extends TProperties>(properties: P, options: { title?: string; description?: string } = {}) {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

export const Sku = Type.String({ minLength: 1, maxLength: limits.codeLengthMax, description: 'Stock keeping unit' });
export const LocationCode = Type.String({ minLength: 1, maxLength: limits.codeLengthMax });
export const Identifier = Type.String({ minLength: 1, maxLength: limits.codeLengthMax });
export const Text = Type.String({ minLength: 1, maxLength: limits.textLengthMax });
export const Timestamp = Type.String({ format: 'date-time' });
export const Limit = Type.Integer({ minimum: 1, maximum: limits.pageSizeMax, default: limits.pageSizeDefault });
