/**
 * A value as error messages quote it ("Expected … but received X"): a string in quotes, so "10" is
 * not mistaken for 10; a number as JavaScript prints it (NaN, Infinity, which JSON would print as
 * null); undefined by name; anything else as JSON where it has one, else as String gives it.
 */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * What kind of value an argument is, for "Expected a Plan … but received X" messages about the
 * wrong type: null, its class name, or its typeof.
 */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'an object';
}
