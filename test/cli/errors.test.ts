/**
 * Which errors the CLI prints as one line (the user's) and which with their stack (ours): path
 * errors from the file system are the user's, whatever call raised them.
 */
import { isUserError } from '../../src/cli/errors';

/** An error as Node's fs raises it: a message and an errno code. */
function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open 'x'`), { code });
}

describe('isUserError', () => {
  test.each(['EBUSY', 'EPERM', 'ENOTEMPTY', 'ENAMETOOLONG', 'ELOOP', 'ENOENT', 'EISDIR', 'EACCES'])(
    '%s, a path the user gave that cannot be used, is the user’s',
    (code) => {
      expect(isUserError(fsError(code))).toBe(true);
    },
  );

  test.each(['EXDEV', 'EIO', 'EBADF'])('%s is ours: the stack is printed', (code) => {
    expect(isUserError(fsError(code))).toBe(false);
  });

  test('an error without a code is not a file error', () => {
    expect(isUserError(new Error('boom'))).toBe(false);
  });
});
