/**
 * The answers kept per @idempotent key: same key + same variables -> the stored answer of the
 * first call; other variables -> IDEMPOTENCY_KEY_PARAMETER_MISMATCH; the first still running ->
 * IDEMPOTENCY_CONCURRENT_REQUEST [doc enum InventorySetQuantitiesUserErrorCode 2026-01].
 */
export interface StoredAnswer {
  variablesHash: string;
  payload: unknown;
  storedAt: number;
  running: boolean;
}

export type IdempotencyVerdict =
  | { answer: StoredAnswer }
  | { earlier: { userError: { code: string; message: string } | null; stored: StoredAnswer } };

export class IdempotencyStore {
  readonly #answers = new Map<string, StoredAnswer>();

  constructor(
    private readonly now: () => number,
    private readonly retentionMs: number,
  ) {}

  /** The verdict on arrival: a new key is stored as running, a known one answers from the first call. */
  arrive(key: string, variablesHash: string): IdempotencyVerdict {
    this.#prune();
    const stored = this.#answers.get(key);
    if (stored === undefined) {
      const answer = { variablesHash, payload: null, storedAt: this.now(), running: true };
      this.#answers.set(key, answer);
      return { answer };
    }
    const userError = stored.running
      ? { code: 'IDEMPOTENCY_CONCURRENT_REQUEST', message: 'This request is currently in progress, please try again.' }
      : stored.variablesHash !== variablesHash
        ? {
            code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH',
            message: 'The same idempotency key cannot be used with different operation parameters.',
          }
        : null;
    return { earlier: { userError, stored } };
  }

  /** The first call threw: forget the key so a retry runs. */
  forget(key: string): void {
    this.#answers.delete(key);
  }

  #prune(): void {
    const oldest = this.now() - this.retentionMs;
    for (const [key, stored] of this.#answers) {
      if (stored.storedAt >= oldest && this.#answers.size <= 100_000) break;
      if (!stored.running) this.#answers.delete(key);
    }
  }
}
