import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';

/**
 * Hash of a command's payload as the client sent it (before defaults such as occurred_at =
 * now are filled in), so the same request replayed later hashes the same.
 */
export function payloadHash(payload: unknown): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('base64url');
}
