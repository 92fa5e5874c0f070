import { spawnSync } from 'child_process';
import * as path from 'path';

import { addonInfo } from '../../src/native/loadAddon';

// Outside jest's vm contexts the addon's errors must be real TypeError / RangeError instances
// (expectNativeError.ts explains why tests inside jest check names instead).
test('argument errors are TypeError and RangeError instances in plain Node', () => {
  const script = `
    const addon = require(process.argv[1]);
    const kinds = [];
    for (const action of [() => addon.fwht([1, 2], 2), () => addon.fwht(new Float32Array(4), 3)]) {
      try { action(); kinds.push('none'); } catch (error) {
        kinds.push(error instanceof TypeError ? 'TypeError' : error instanceof RangeError ? 'RangeError' : 'other');
      }
    }
    console.log(kinds.join(','));`;
  const result = spawnSync(process.execPath, ['-e', script, addonInfo().path], {
    encoding: 'utf8',
    cwd: path.resolve(__dirname, '..', '..'),
  });
  expect(result.stderr).toBe('');
  expect(result.stdout.trim()).toBe('TypeError,RangeError');
});
