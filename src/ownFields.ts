/**
 * An options or config object's own enumerable fields, in an object without a prototype: reading
 * a field the caller did not set gives undefined, never a value inherited from the object's
 * prototype (`Object.create({ rank: 64 })`) or from a polluted `Object.prototype`.
 */
export function ownFields<T extends object>(value: T): Partial<T> {
  return Object.assign(Object.create(null) as Partial<T>, value);
}
