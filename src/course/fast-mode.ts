/**
 * Fast mode: the same notebooks with training shrunk to seconds, for tests and CI. The notebook
 * runner sets the variable; notebooks read it through `byMode` so every shrunken number is visible
 * next to its full-course value.
 */

/** Environment variable that switches fast mode on ("1", "true" or "yes"). */
export const FAST_ENV_VAR = 'ATTENTION_FAST';

/** True when `ATTENTION_FAST` asks for fast mode. */
export function isFastMode(env: Record<string, string | undefined> = process.env): boolean {
  const value = (env[FAST_ENV_VAR] ?? '').trim().toLowerCase();
  if (value === '' || value === '0' || value === 'false' || value === 'no') return false;
  if (value === '1' || value === 'true' || value === 'yes') return true;
  throw new Error(
    `${FAST_ENV_VAR}: expected one of 1, true, yes, 0, false, no or empty, got "${env[FAST_ENV_VAR]}"`,
  );
}

/**
 * The full-course value, or the fast one in fast mode: `byMode({ full: 2000, fast: 50 })`.
 */
export function byMode<T>(
  values: { full: T; fast: T },
  env?: Record<string, string | undefined>,
): T {
  if (values === null || typeof values !== 'object' || !('full' in values) || !('fast' in values)) {
    throw new TypeError('byMode: expected an object { full, fast }');
  }
  return isFastMode(env) ? values.fast : values.full;
}
