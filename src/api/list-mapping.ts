import type { ActivationRecord } from '../store/ledger-store.js';
import { iso } from './iso-time.js';
import type { ActivationView } from './list-schemas.js';

export function activationView(record: ActivationRecord): ActivationView {
  return {
    kind: record.kind,
    ref: record.ref,
    active: record.active,
    changed: record.changed,
    deactivated_at: record.deactivatedAt === null ? null : iso(record.deactivatedAt),
    deactivated_by: record.deactivatedBy,
  };
}
