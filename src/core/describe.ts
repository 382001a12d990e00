/**
 * How error messages show the value a caller passed: the one `describeValue` of the library, so
 * that "expected ..., got ..." reads the same in shape checks, tables, figures and progress bars.
 */

const MAX_STRING = 40;

/**
 * A short description of any value for the "got ..." part of an error message, as informative as
 * fits on one line: `null`, `undefined`, `number 0`, `number NaN`, `boolean true`,
 * `string "pie"` (long strings cut), `an array of length 3`, `a float32 tensor of shape [2, 3]`,
 * `a function (onStep)`, `an object (Map)`. Never throws, whatever the value.
 * @param value anything
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  switch (typeof value) {
    case 'string': {
      const cut = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}...` : value;
      return `string ${JSON.stringify(cut)}`;
    }
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'symbol':
      return `symbol ${value.description ?? ''}`.trimEnd();
    case 'function':
      return value.name ? `a function (${value.name})` : 'a function';
    default:
      return describeObject(value as object);
  }
}

/** A tensor (by its dtype and shape, without importing tfjs) or any other object by its class. */
function describeObject(value: object): string {
  try {
    const { dtype, shape } = value as { dtype?: unknown; shape?: unknown };
    if (typeof dtype === 'string' && Array.isArray(shape)) {
      return `${/^[aeiou]/.test(dtype) ? 'an' : 'a'} ${dtype} tensor of shape [${shape.join(', ')}]`;
    }
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `an object (${typeof name === 'string' && name !== '' ? name : 'Object'})`;
  } catch {
    // A getter that throws, or a revoked proxy: still say what it is.
    return 'an object';
  }
}
