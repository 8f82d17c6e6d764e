import { Type, type Static } from '@sinclair/typebox';
import { alertRules } from '../core/alerts.js';
import { limits } from '../core/limits.js';
import { Closed, Nullable, Timestamp } from './schema-primitives.js';

/** Request and response schemas of `GET /v1/alerts`; `onhand alerts --json` prints the same view. */

export const alertStatuses = ['open', 'resolved', 'all'] as const;

export const AlertQuery = Closed({
  status: Type.Optional(
    Type.Union(
      alertStatuses.map((status) => Type.Literal(status)),
      { description: 'Which alerts: `open` (default), `resolved` or `all`' },
    ),
  ),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: limits.alertListMax,
      default: 100,
      description: 'Newest first, at most this many',
    }),
  ),
});
export type AlertQuery = Static<typeof AlertQuery>;

export const AlertView = Closed({
  id: Type.String(),
  rule: Type.Union(
    alertRules.map((rule) => Type.Literal(rule)),
    { description: 'The rule whose condition held' },
  ),
  channel: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  opened_at: Timestamp,
  resolved_at: Nullable(Timestamp),
  detail: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()]), {
    description: 'The figures when the alert opened, and the threshold crossed',
  }),
});

export const AlertList = Closed({ alerts: Type.Array(AlertView) });
