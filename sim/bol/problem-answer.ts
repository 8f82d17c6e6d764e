import type { ServerResponse } from 'node:http';
import type { components as RetailerV10 } from '../../src/connectors/bol/generated/retailer-v10.js';

export type Problem = RetailerV10['schemas']['Problem'];

export const mediaV11 = 'application/vnd.retailer.v11+json';
export const mediaV10 = 'application/vnd.retailer.v10+json';
const problemType = 'https://api.bol.com/problems';

export class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly contentType: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** bol's error body (docs/channels/bol.md, Push: one PATCH per offer). */
export function problem(
  status: number,
  title: string,
  detail: string,
  instance: string,
  media: string,
  violations: Problem['violations'] = [],
  headers: Record<string, string> = {},
): HttpAnswer {
  const body: Problem = {
    type: problemType,
    title,
    status,
    detail,
    host: 'Instance-sim',
    instance: `https://api.bol.com${instance}`,
    violations,
  };
  return new HttpAnswer(status, body, media, headers);
}

export function sendAnswer(response: ServerResponse, answer: HttpAnswer): void {
  const headers: Record<string, string> = { ...answer.headers };
  if (answer.body === undefined) {
    response.writeHead(answer.status, headers);
    response.end();
    return;
  }
  const text = JSON.stringify(answer.body);
  headers['content-type'] = answer.contentType;
  headers['content-length'] = String(Buffer.byteLength(text));
  response.writeHead(answer.status, headers);
  response.end(text);
}

/** Timestamps in answer bodies: ISO 8601 in UTC. */
export const iso = (ms: number) => new Date(ms).toISOString();
