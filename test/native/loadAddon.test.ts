import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { AddonEnvironmentError } from '../../src/native/addonEnvironment';
import { AddonLoadError, loadAddonUncached } from '../../src/native/loadAddon';
import { thrownBy } from './expectNativeError';

const packageRoot = path.resolve(__dirname, '..', '..');
const localBuild = path.join(packageRoot, 'build', 'Release', 'superlora.node');
const { version } = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
  version: string;
};

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'superlora-loader-'));
});
afterEach(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A fake package root: package.json plus the given files (copies of real ones, or text). */
function fakePackage(files: Record<string, string | { copyOf: string }>, packageVersion = version) {
  fs.writeFileSync(
    path.join(scratch, 'package.json'),
    JSON.stringify({ name: 'superlora', version: packageVersion }),
  );
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(scratch, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(file, content);
    else fs.copyFileSync(content.copyOf, file);
  }
  return scratch;
}

function loadError(packageRootDir: string, env: Record<string, string>): AddonLoadError {
  const error = thrownBy(() => loadAddonUncached({ packageRoot: packageRootDir, env }));
  expect(error).toBeInstanceOf(AddonLoadError);
  expect(error.message).toMatch(/^Could not load the superlora native addon\.\nTried:\n/);
  expect(error.message).toMatch(/\nPossible fixes:\n/);
  expect(error.message).toContain('npm rebuild superlora');
  expect(error.message).toMatch(/python3, make and a C\+\+17 compiler/);
  return error as AddonLoadError;
}

describe('loadAddon', () => {
  test('by default loads the local node-gyp build through node-gyp-build', () => {
    const { addon, info } = loadAddonUncached({ packageRoot, env: {} });
    expect(info).toEqual({
      path: localBuild,
      source: 'local-build',
      variant: 'node-gyp',
      cudaCompiled: false,
      version,
    });
    expect(addon.version()).toBe(version);
  });

  test('SUPERLORA_BINARY selects exactly that file', () => {
    const { info } = loadAddonUncached({ packageRoot, env: { SUPERLORA_BINARY: localBuild } });
    expect(info.source).toBe('env');
    expect(info.path).toBe(localBuild);
  });

  test('a prebuilt binary is used when there is no local build', () => {
    const root = fakePackage({
      [`prebuilds/${process.platform}-${process.arch}/node.napi.node`]: { copyOf: localBuild },
    });
    const { info } = loadAddonUncached({ packageRoot: root, env: {} });
    expect(info.source).toBe('prebuilt');
    expect(info.path).toBe(
      path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'node.napi.node'),
    );
  });

  test('with nothing built, the error lists every place looked at', () => {
    const error = loadError(fakePackage({}), {});
    expect(error.attempts.map((attempt) => attempt.candidate)).toEqual([
      `${path.join(scratch, 'build', 'Release')} (local build)`,
      `${path.join(scratch, 'build', 'Debug')} (local build)`,
      `${path.join(scratch, 'prebuilds', `${process.platform}-${process.arch}`)} (prebuilt binaries)`,
    ]);
    expect(error.message).toContain('no such directory (never built here)');
    expect(error.message).toContain(`no prebuilt binaries for ${process.platform}-${process.arch}`);
  });

  test('a missing SUPERLORA_BINARY file is an error, not a silent fallback', () => {
    const missing = path.join(scratch, 'nowhere', 'superlora.node');
    const error = loadError(packageRoot, { SUPERLORA_BINARY: missing });
    expect(error.attempts).toEqual([
      { candidate: `${missing} (from SUPERLORA_BINARY)`, reason: 'file not found' },
    ]);
    expect(error.message).toContain('Point SUPERLORA_BINARY at an existing superlora.node');
  });

  test('SUPERLORA_BUILD=cuda without a CUDA build says how to build it', () => {
    const error = loadError(fakePackage({}), { SUPERLORA_BUILD: 'cuda' });
    expect(error.message).toContain(path.join(scratch, 'build-cuda', 'Release', 'superlora.node'));
    expect(error.message).toContain('npm run build:cuda');
  });

  test('an unknown SUPERLORA_BUILD value is a malformed setting, named with the accepted ones', () => {
    // Not an AddonLoadError: the callers that fall back to tfjs would swallow that.
    const error = thrownBy(() =>
      loadAddonUncached({ packageRoot, env: { SUPERLORA_BUILD: 'gpu' } }),
    );
    expect(error).toBeInstanceOf(AddonEnvironmentError);
    expect(error.message).toBe(
      `Expected 'cuda', 'cmake' or 'auto' (the default) for SUPERLORA_BUILD but received "gpu"`,
    );
  });

  test('a binary the user chose says which variable chose it; the automatic search says none', () => {
    const missing = path.join(scratch, 'nowhere', 'superlora.node');
    expect(loadError(packageRoot, { SUPERLORA_BINARY: missing }).requestedBy).toBe(
      'SUPERLORA_BINARY',
    );
    expect(loadError(fakePackage({}), { SUPERLORA_BUILD: 'cmake' }).requestedBy).toBe(
      'SUPERLORA_BUILD',
    );
    expect(loadError(fakePackage({}), {}).requestedBy).toBeUndefined();
  });

  test('a binary built from another version is refused as stale', () => {
    const root = fakePackage({ 'build/Release/superlora.node': { copyOf: localBuild } }, '9.9.9');
    const error = loadError(root, {});
    expect(error.message).toContain(`stale binary: it was built from superlora ${version}`);
    expect(error.message).toContain('npm run build:native');
  });

  test('a broken local build falls back to the prebuilt binary and says what it skipped', () => {
    const root = fakePackage({
      'build/Release/superlora.node': 'not a shared object',
      [`prebuilds/${process.platform}-${process.arch}/node.napi.node`]: { copyOf: localBuild },
    });
    const { info } = loadAddonUncached({ packageRoot: root, env: {} });
    expect(info.source).toBe('prebuilt');
    expect(info.skipped).toHaveLength(1);
    expect(info.skipped?.[0]?.candidate).toBe(
      `${path.join(root, 'build', 'Release', 'superlora.node')} (local build)`,
    );
  });

  test('when the local build and the prebuilt binary both fail, one error lists both with fixes', () => {
    const root = fakePackage(
      {
        'build/Release/superlora.node': { copyOf: localBuild },
        [`prebuilds/${process.platform}-${process.arch}/node.napi.node`]: 'not a shared object',
      },
      '9.9.9',
    );
    const error = loadError(root, {});
    expect(error.attempts.map((attempt) => attempt.candidate)).toEqual([
      `${path.join(root, 'build', 'Release', 'superlora.node')} (local build)`,
      `${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'node.napi.node')} (prebuilt binary)`,
    ]);
    expect(error.attempts[0]?.reason).toContain('stale binary');
    expect(error.message).toContain(`Delete ${path.join(root, 'build')}`);
    expect(error.message).toContain('The prebuilt binary does not load on this system');
  });

  test('on Windows, a prebuilt binary that does not load is explained by what it binds to', () => {
    const saved = Object.getOwnPropertyDescriptor(process, 'platform') as PropertyDescriptor;
    Object.defineProperty(process, 'platform', { ...saved, value: 'win32' });
    try {
      const root = fakePackage({
        [`prebuilds/win32-${process.arch}/superlora.node`]: 'not a DLL',
      });
      const error = loadError(root, {});
      expect(error.attempts.map((attempt) => attempt.candidate)).toEqual([
        `${path.join(root, 'prebuilds', `win32-${process.arch}`, 'superlora.node')} (prebuilt binary)`,
      ]);
      expect(error.message).toContain('it binds to the executable named node.exe');
      expect(error.message).not.toContain('glibc');
    } finally {
      Object.defineProperty(process, 'platform', saved);
    }
  });

  test('a broken local build without a prebuilt binary also says that none ships here', () => {
    const root = fakePackage({ 'build/Release/superlora.node': 'not a shared object' });
    const error = loadError(root, {});
    expect(error.attempts).toHaveLength(2);
    expect(error.message).toContain(`no prebuilt binaries for ${process.platform}-${process.arch}`);
  });
});
