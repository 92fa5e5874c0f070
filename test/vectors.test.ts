/**
 * test/vectors/ is a copy of the SPEC's known-answer vectors (shared/vectors beside the
 * repository), so tests run from any checkout. Where the shared folder is present, the copy must
 * equal it: a changed vector upstream fails here instead of silently testing old answers.
 */
import { existsSync, readFileSync, readdirSync } from 'fs';
import { join } from 'path';

const copy = join(__dirname, 'vectors');
const upstream = join(__dirname, '..', '..', 'shared', 'vectors');

test('the vendored known-answer vectors equal shared/vectors', () => {
  const files = readdirSync(copy)
    .filter((f) => f.endsWith('.json'))
    .sort();
  expect(files.length).toBeGreaterThanOrEqual(4);
  if (!existsSync(upstream)) {
    console.log(`skipped comparison: ${upstream} is not present in this checkout`);
    return;
  }
  expect(
    readdirSync(upstream)
      .filter((f) => f.endsWith('.json'))
      .sort(),
  ).toEqual(files);
  for (const file of files) {
    expect(readFileSync(join(copy, file), 'utf8')).toBe(readFileSync(join(upstream, file), 'utf8'));
  }
});
