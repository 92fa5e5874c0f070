import * as fs from 'fs';
import * as path from 'path';

import { addonInfo, findPackageRoot, loadAddon } from '../../src/native/loadAddon';

const packageRoot = path.resolve(__dirname, '..', '..');
const packageJson = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
  version: string;
  binary: { napi_versions: number[] };
};

describe('native addon version', () => {
  test('version() is the package.json version the binary was built from', () => {
    expect(loadAddon().version()).toBe(packageJson.version);
  });

  test('capabilities() and addonInfo() report the same version', () => {
    expect(loadAddon().capabilities().version).toBe(packageJson.version);
    expect(addonInfo().version).toBe(packageJson.version);
  });

  test('the binary targets the Node-API version package.json declares', () => {
    expect(loadAddon().capabilities().build.napiVersion).toBe(packageJson.binary.napi_versions[0]);
  });

  test('the package root is found from src/ as it will be from dist/', () => {
    expect(findPackageRoot()).toBe(packageRoot);
  });
});
