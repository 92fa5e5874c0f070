/**
 * Finds and loads the native addon: the one place that knows where binaries live and what to say
 * when none loads.
 *
 * Order:
 * 1. SUPERLORA_BINARY=/path/to/superlora.node: exactly that file (source 'env').
 * 2. SUPERLORA_BUILD=cuda | cmake: the cmake-js build in build-cuda/Release or build-cmake/Release
 *    (`npm run build:cuda` / `npm run build:cmake`; sources 'cuda-build' / 'cmake-build').
 * 3. Otherwise node-gyp-build's choice in the package root: a local build in build/Release (or
 *    build/Debug) when there is one, else the matching prebuilt binary in prebuilds/
 *    (sources 'local-build' / 'prebuilt').
 * An explicit request (1 or 2) that fails is an error, never a silent fallback to another binary.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { Addon, BuildVariant } from './addonTypes';

export type AddonSource = 'env' | 'cuda-build' | 'cmake-build' | 'local-build' | 'prebuilt';

export interface AddonInfo {
  /** Absolute path of the loaded .node file. */
  path: string;
  source: AddonSource;
  variant: BuildVariant;
  cudaCompiled: boolean;
  version: string;
}

export interface LoadAddonOptions {
  /** Directory holding superlora's package.json, build/ and prebuilds/. Found from __dirname by default. */
  packageRoot?: string;
  /** Environment to read SUPERLORA_BINARY / SUPERLORA_BUILD from; process.env by default. */
  env?: Record<string, string | undefined>;
}

/** One binary the loader tried, and why it did not load. */
export interface AddonLoadAttempt {
  /** The .node path, or a description when no path was found. */
  candidate: string;
  reason: string;
}

/** Thrown when no binary loads: lists every cause tried, then every fix. */
export class AddonLoadError extends Error {
  readonly attempts: AddonLoadAttempt[];

  constructor(attempts: AddonLoadAttempt[], fixes: string[]) {
    const tried = attempts.map((attempt) => `  - ${attempt.candidate}: ${attempt.reason}`);
    const possible = fixes.map((fix) => `  - ${fix}`);
    super(
      [
        'Could not load the superlora native addon.',
        'Tried:',
        ...tried,
        'Possible fixes:',
        ...possible,
      ].join('\n'),
    );
    this.name = 'AddonLoadError';
    this.attempts = attempts;
  }
}

interface NodeGypBuild {
  (dir: string): unknown;
  /** The .node file node-gyp-build would load from dir; throws when there is none. */
  resolve(dir: string): string;
}

const PACKAGE_NAME = 'superlora';
const CMAKE_BUILDS = {
  cuda: {
    dir: 'build-cuda',
    source: 'cuda-build',
    script: 'npm run build:cuda (needs cmake and nvcc)',
  },
  cmake: { dir: 'build-cmake', source: 'cmake-build', script: 'npm run build:cmake (needs cmake)' },
} as const;
const REQUIRED_FUNCTIONS: ReadonlyArray<keyof Addon> = [
  'version',
  'capabilities',
  'fwht',
  'cudaFwht',
];
const LOCAL_BUILD_CHOSEN = 'local build, chosen by node-gyp-build';
const REBUILD_FIX =
  'Run `npm rebuild superlora` to compile the addon from source (needs python3, make and a C++17 ' +
  'compiler such as g++ 9+ or clang 10+); add --foreground-scripts to see the compiler output.';

/**
 * The directory of superlora's own package.json. Walking up from this file works both from src/
 * (ts-jest) and from dist/ (the published package), wherever node_modules puts the package.
 */
export function findPackageRoot(startDir: string = __dirname): string {
  let dir = startDir;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        const { name } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (name === PACKAGE_NAME) return dir;
      } catch {
        // An unreadable package.json on the way up is not ours; keep looking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`Could not find the ${PACKAGE_NAME} package root above ${startDir}`);
    }
    dir = parent;
  }
}

function packageVersion(packageRoot: string): string | undefined {
  try {
    const text = fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8');
    const manifest = JSON.parse(text) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}

/** Loads one .node file and checks that it is a superlora addon of this package's version. */
function loadBinary(file: string, expectedVersion: string | undefined): Addon {
  if (!fs.existsSync(file)) throw new Error('file not found');
  // A .node file can only be loaded by path at run time, which is what require does (through
  // process.dlopen); the package is CommonJS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(file) as Partial<Record<keyof Addon, unknown>>;
  const missing = REQUIRED_FUNCTIONS.filter((name) => typeof loaded[name] !== 'function');
  if (missing.length > 0) {
    throw new Error(`not a superlora addon, or one too old: it lacks ${missing.join(', ')}`);
  }
  const addon = loaded as Addon;
  const version = addon.version();
  if (expectedVersion !== undefined && version !== expectedVersion) {
    throw new Error(
      `stale binary: it was built from superlora ${version} but the package is ${expectedVersion}`,
    );
  }
  return addon;
}

function classify(file: string, packageRoot: string): AddonSource {
  const relative = path.relative(packageRoot, file);
  return relative.split(path.sep)[0] === 'prebuilds' ? 'prebuilt' : 'local-build';
}

interface Candidate {
  file: string;
  source: AddonSource;
  label: string;
}

/** What is (not) in each place node-gyp-build looks, for the error when it finds nothing. */
function describeAutoLocations(packageRoot: string): AddonLoadAttempt[] {
  const nodeFiles = (dir: string): string[] | undefined =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.node')) : undefined;
  const attempts: AddonLoadAttempt[] = [];
  for (const config of ['Release', 'Debug']) {
    const dir = path.join(packageRoot, 'build', config);
    const files = nodeFiles(dir);
    attempts.push({
      candidate: `${dir} (local build)`,
      reason: files === undefined ? 'no such directory (never built here)' : 'holds no .node file',
    });
  }
  const prebuilds = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  const files = nodeFiles(prebuilds);
  attempts.push({
    candidate: `${prebuilds} (prebuilt binaries)`,
    reason:
      files === undefined
        ? `no prebuilt binaries for ${process.platform}-${process.arch}`
        : `none matches this runtime (found: ${files.join(', ') || 'nothing'})`,
  });
  return attempts;
}

/** The binary to load for this environment, or why there is none. */
function findCandidate(
  packageRoot: string,
  env: Record<string, string | undefined>,
): Candidate | AddonLoadAttempt[] {
  const binary = env['SUPERLORA_BINARY'];
  if (binary !== undefined && binary !== '') {
    const file = path.resolve(binary);
    return { file, source: 'env', label: `${file} (from SUPERLORA_BINARY)` };
  }
  const build = env['SUPERLORA_BUILD'];
  if (build !== undefined && build !== '' && build !== 'auto') {
    if (build !== 'cuda' && build !== 'cmake') {
      return [
        {
          candidate: `SUPERLORA_BUILD=${build}`,
          reason: "expected 'cuda', 'cmake' or 'auto' (the default)",
        },
      ];
    }
    const { dir, source } = CMAKE_BUILDS[build];
    const file = path.join(packageRoot, dir, 'Release', 'superlora.node');
    return { file, source, label: `${file} (SUPERLORA_BUILD=${build})` };
  }
  // node-gyp-build ships no types; NodeGypBuild above types the part used here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  let file: string;
  try {
    file = nodeGypBuild.resolve(packageRoot);
  } catch {
    return describeAutoLocations(packageRoot);
  }
  const source = classify(file, packageRoot);
  const chosen =
    source === 'prebuilt' ? 'prebuilt binary, chosen by node-gyp-build' : LOCAL_BUILD_CHOSEN;
  return { file, source, label: `${file} (${chosen})` };
}

function fixesFor(
  packageRoot: string,
  env: Record<string, string | undefined>,
  attempts: AddonLoadAttempt[],
): string[] {
  const reasons = attempts.map((attempt) => attempt.reason).join('\n');
  const fixes: string[] = [];
  if (env['SUPERLORA_BINARY']) {
    fixes.push(
      'Point SUPERLORA_BINARY at an existing superlora.node of this version, or unset it.',
    );
  }
  const build = env['SUPERLORA_BUILD'];
  if (build === 'cuda' || build === 'cmake') {
    fixes.push(`Build it with \`${CMAKE_BUILDS[build].script}\`, or unset SUPERLORA_BUILD.`);
  }
  if (/stale binary|too old/.test(reasons)) {
    fixes.push(
      'Rebuild the stale binary: `npm run build:native` (or build:cmake / build:cuda for those builds).',
    );
  }
  if (/GLIBC|undefined symbol|wrong ELF|invalid ELF|not a valid Win32/.test(reasons)) {
    fixes.push(
      'The binary does not match this platform or its C/C++ runtime: build it here from source.',
    );
  }
  const platform = `${process.platform}-${process.arch}`;
  const prebuilds = path.join(packageRoot, 'prebuilds', platform);
  const localBuildFailed = attempts.some((attempt) =>
    attempt.candidate.includes(LOCAL_BUILD_CHOSEN),
  );
  if (localBuildFailed && fs.existsSync(prebuilds)) {
    // node-gyp-build prefers build/ over prebuilds/, so a broken local build hides a prebuilt one.
    fixes.push(
      `Delete ${path.join(packageRoot, 'build')} so that the prebuilt binary in ${prebuilds} is used.`,
    );
  }
  fixes.push(REBUILD_FIX);
  if (!fs.existsSync(prebuilds)) {
    fixes.push(
      `No prebuilt binary ships for ${platform}, so there the addon has to be compiled (as above).`,
    );
  }
  return fixes;
}

/** Loads a binary without caching, for tests and diagnostics. Most code wants loadAddon(). */
export function loadAddonUncached(options: LoadAddonOptions = {}): {
  addon: Addon;
  info: AddonInfo;
} {
  const packageRoot = options.packageRoot ?? findPackageRoot();
  const env = options.env ?? process.env;
  const found = findCandidate(packageRoot, env);
  if (Array.isArray(found)) throw new AddonLoadError(found, fixesFor(packageRoot, env, found));
  let addon: Addon;
  try {
    addon = loadBinary(found.file, packageVersion(packageRoot));
  } catch (error) {
    const attempts = [{ candidate: found.label, reason: errorMessage(error) }];
    throw new AddonLoadError(attempts, fixesFor(packageRoot, env, attempts));
  }
  const capabilities = addon.capabilities();
  return {
    addon,
    info: {
      path: found.file,
      source: found.source,
      variant: capabilities.build.variant,
      cudaCompiled: capabilities.cudaCompiled,
      version: capabilities.version,
    },
  };
}

let cached: { addon: Addon; info: AddonInfo } | undefined;

/** The addon for this process, loaded on first use (see the order at the top of this file). */
export function loadAddon(): Addon {
  cached ??= loadAddonUncached();
  return cached.addon;
}

/** Which binary loadAddon() loaded and from where; loads it if needed. */
export function addonInfo(): AddonInfo {
  cached ??= loadAddonUncached();
  return { ...cached.info };
}
