export type GraphqlError = { message: string; extensions?: Record<string, unknown>; path?: (string | number)[] };

/** What a parsed operation will do: its requested cost, and the run that answers it. */
export type OperationPlan =
  | { errors: GraphqlError[] }
  | {
      requestedCost: number;
      mutation: boolean;
      idempotency: { key: string; variablesHash: string; responseKey: string } | null;
      run: () => { data: Record<string, unknown>; actualCost: number };
    };

export const arrayInputMax = 250;

export function undefinedField(name: string, typeName: string): GraphqlError {
  return {
    message: `Field '${name}' doesn't exist on type '${typeName}'`,
    extensions: { code: 'undefinedField', typeName, fieldName: name },
  };
}

/** [doc: the 250 limit; the error code and message are unverified]. */
export function maxInputSize(size: number): GraphqlError {
  return {
    message: `The input array size of ${size} is greater than the maximum allowed of ${arrayInputMax}.`,
    extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED' },
  };
}
