import type { ServerResponse } from 'node:http';

/** One answer of the simulated Google endpoints. */
export class GoogleAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** The canonical status of each HTTP code in Google's error body (google.rpc.Code over HTTP). */
const statusNames: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Google's JSON error shape: `{error: {code, message, status}}`. */
export function googleError(code: number, message: string): GoogleAnswer {
  return new GoogleAnswer(code, { error: { code, message, status: statusNames[code] ?? 'UNKNOWN' } });
}

export function sendGoogle(response: ServerResponse, answer: GoogleAnswer): void {
  const text = JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}
