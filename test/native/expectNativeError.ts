/**
 * Jest runs each test file in its own vm context, but the addon creates its errors in Node's main
 * context, so `toThrow(TypeError)` compares against the wrong realm's TypeError and always fails.
 * These helpers check the error's name and message instead; plain Node (one realm) gets real
 * instanceof, which test/native/realm.test.ts checks in a child process.
 */
export function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, but it returned');
}

export function expectNativeError(
  action: () => unknown,
  name: 'Error' | 'TypeError' | 'RangeError',
  message: RegExp | string,
): void {
  const error = thrownBy(action);
  expect(error.name).toBe(name);
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
}
