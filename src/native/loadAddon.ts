/**
 * Finds and loads the native addon: the one place that knows where binaries live and what to say
 * when none loads.
 *
 * Order:
 * 1. SUPERLORA_BINARY=/path/to/superlora.node: exactly that file (source 'env').
 * 2. SUPERLORA_BUILD=cuda | cmake: the cmake-js build in build-cuda/Release or build-cmake/Release
 *    (`npm run build:cuda` / `npm run build:cmake`; sources 'cuda-build' / 'cmake-build').
 * 3. Otherwise, in the package root, each of these that exists, in order, until one loads: the
 *    local build in build/Release, then build/Debug (source 'local-build'), then the prebuilt
 *    binary in prebuilds/<platform>-<arch>/ that node-gyp-build's rules pick for this runtime
 *    (source 'prebuilt'). A local build that fails to load (stale, broken, built for another
 *    platform) falls back to the prebuilt one; AddonInfo.skipped says what was passed over.
 * An explicit request (1 or 2) that fails is an error, never a silent fallback to another binary.
 * When nothing loads, one AddonLoadError lists every candidate with its cause, then every fix.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { Addon, BuildVariant } from './addonTypes';
import { AddonEnvironmentError, addonSettingsFromEnv } from './addonEnvironment';

export type AddonSource = 'env' | 'cuda-build' | 'cmake-build' | 'local-build' | 'prebuilt';

export interface AddonInfo {
  /** Absolute path of the loaded .node file. */
  path: string;
  source: AddonSource;
  variant: BuildVariant;
  cudaCompiled: boolean;
  version: string;
  /** Binaries tried before this one that did not load (a stale local build); absent when none. */
  skipped?: AddonLoadAttempt[];
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

/**
 * Thrown when no binary loads: lists every cause tried, then every fix. `requestedBy` names the
 * variable (SUPERLORA_BINARY or SUPERLORA_BUILD) when the user chose the binary: then the callers
 * that fall back to tfjs for a binary that does not load pass the error on instead, since a run on
 * tfjs's kernels is 20–80× slower than the one asked for.
 */
export class AddonLoadError extends Error {
  readonly attempts: AddonLoadAttempt[];
  readonly requestedBy: string | undefined;

  constructor(attempts: AddonLoadAttempt[], fixes: string[], requestedBy?: string) {
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
    this.requestedBy = requestedBy;
  }
}

/** The parts of node-gyp-build (which ships no types) that pick a prebuilt binary. */
interface NodeGypBuild {
  parseTuple(name: string): unknown;
  matchTuple(platform: string, arch: string): (tuple: unknown) => boolean;
  compareTuples(a: unknown, b: unknown): number;
  parseTags(file: string): unknown;
  matchTags(runtime: string, abi: string | undefined): (tags: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

const PACKAGE_NAME = 'superlora';
const CMAKE_BUILDS = {
  cuda: {
    dir: 'build-cuda',
    source: 'cuda-build',
    script: 'npm run build:cuda',
    needs: 'cmake and nvcc',
  },
  cmake: {
    dir: 'build-cmake',
    source: 'cmake-build',
    script: 'npm run build:cmake',
    needs: 'cmake',
  },
} as const;
const REQUIRED_FUNCTIONS: ReadonlyArray<keyof Addon> = [
  'version',
  'capabilities',
  'fwht',
  'cudaFwht',
];
const LOCAL_BUILD_LABEL = 'local build';
const PREBUILT_LABEL = 'prebuilt binary';
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

/** The first .node file in dir (node-gyp-build's rule for build/Release and build/Debug). */
function firstNodeFile(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const name = fs.readdirSync(dir).find((file) => file.endsWith('.node'));
  return name === undefined ? undefined : path.join(dir, name);
}

/**
 * The prebuilt binary node-gyp-build would pick for this platform, architecture, runtime and libc
 * (prebuilds/<platform>-<arch>/, the most specific matching tags first), or undefined.
 */
function prebuiltBinary(packageRoot: string): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  const prebuilds = path.join(packageRoot, 'prebuilds');
  if (!fs.existsSync(prebuilds)) return undefined;
  const tuple = fs
    .readdirSync(prebuilds)
    .map((name) => nodeGypBuild.parseTuple(name))
    .filter(nodeGypBuild.matchTuple(process.platform, process.arch))
    .sort(nodeGypBuild.compareTuples)[0] as { name: string } | undefined;
  if (tuple === undefined) return undefined;
  const dir = path.join(prebuilds, tuple.name);
  const winner = fs
    .readdirSync(dir)
    .map((file) => nodeGypBuild.parseTags(file))
    .filter(nodeGypBuild.matchTags('node', process.versions.modules))
    .sort(nodeGypBuild.compareTags('node'))[0] as { file: string } | undefined;
  return winner === undefined ? undefined : path.join(dir, winner.file);
}

/** The variable that chose the binary, when the user chose one. */
function requestingVariable(env: Record<string, string | undefined>): string | undefined {
  if (env['SUPERLORA_BINARY']) return 'SUPERLORA_BINARY';
  const build = env['SUPERLORA_BUILD'];
  return build === 'cuda' || build === 'cmake' ? 'SUPERLORA_BUILD' : undefined;
}

/**
 * The binaries to try for this environment, in order, or why there is none.
 * @throws AddonEnvironmentError for a SUPERLORA_BUILD that names no build.
 */
function findCandidates(
  packageRoot: string,
  env: Record<string, string | undefined>,
): Candidate[] | AddonLoadAttempt[] {
  const binary = env['SUPERLORA_BINARY'];
  if (binary !== undefined && binary !== '') {
    const file = path.resolve(binary);
    return [{ file, source: 'env', label: `${file} (from SUPERLORA_BINARY)` }];
  }
  const build = env['SUPERLORA_BUILD'];
  if (build !== undefined && build !== '' && build !== 'auto') {
    if (build !== 'cuda' && build !== 'cmake') {
      throw new AddonEnvironmentError(
        `Expected 'cuda', 'cmake' or 'auto' (the default) for SUPERLORA_BUILD but received ${JSON.stringify(build)}`,
      );
    }
    const { dir, source } = CMAKE_BUILDS[build];
    const file = path.join(packageRoot, dir, 'Release', 'superlora.node');
    return [{ file, source, label: `${file} (SUPERLORA_BUILD=${build})` }];
  }
  const candidates: Candidate[] = [];
  for (const config of ['Release', 'Debug']) {
    const file = firstNodeFile(path.join(packageRoot, 'build', config));
    if (file !== undefined) {
      candidates.push({ file, source: 'local-build', label: `${file} (${LOCAL_BUILD_LABEL})` });
    }
  }
  const prebuilt = prebuiltBinary(packageRoot);
  if (prebuilt !== undefined) {
    candidates.push({
      file: prebuilt,
      source: 'prebuilt',
      label: `${prebuilt} (${PREBUILT_LABEL})`,
    });
  }
  return candidates.length > 0 ? candidates : describeAutoLocations(packageRoot);
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
    const { script, needs } = CMAKE_BUILDS[build];
    fixes.push(`Build it with \`${script}\` (needs ${needs}), or unset SUPERLORA_BUILD.`);
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
    attempt.candidate.endsWith(`(${LOCAL_BUILD_LABEL})`),
  );
  if (localBuildFailed) {
    fixes.push(
      `Delete ${path.join(packageRoot, 'build')} (a failed local build) or rebuild it: ` +
        '`npm run build:native`.',
    );
  }
  const prebuiltFailed = attempts.some((attempt) =>
    attempt.candidate.endsWith(`(${PREBUILT_LABEL})`),
  );
  if (prebuiltFailed) {
    fixes.push(
      process.platform === 'win32'
        ? 'The prebuilt binary does not load in this process: it binds to the executable named ' +
            'node.exe, so it loads in Node.js itself, not in a renamed host such as Electron ' +
            '(README: "Prebuilt binaries"); reinstall superlora, or compile it here as below.'
        : `The prebuilt binary does not load on this system (README: "Prebuilt binaries" gives the ` +
            `glibc it needs); reinstall superlora, or compile it here as below.`,
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
  const settings = addonSettingsFromEnv(env);
  const found = findCandidates(packageRoot, env);
  const candidates = found.filter((entry): entry is Candidate => 'file' in entry);
  if (candidates.length === 0) {
    const attempts = found as AddonLoadAttempt[];
    throw new AddonLoadError(
      attempts,
      fixesFor(packageRoot, env, attempts),
      requestingVariable(env),
    );
  }
  const expectedVersion = packageVersion(packageRoot);
  const attempts: AddonLoadAttempt[] = [];
  for (const candidate of candidates) {
    let addon: Addon;
    try {
      addon = loadBinary(candidate.file, expectedVersion);
    } catch (error) {
      attempts.push({ candidate: candidate.label, reason: errorMessage(error) });
      continue;
    }
    const capabilities = addon.capabilities();
    const info: AddonInfo = {
      path: candidate.file,
      source: candidate.source,
      variant: capabilities.build.variant,
      cudaCompiled: capabilities.cudaCompiled,
      version: capabilities.version,
    };
    if (attempts.length > 0) info.skipped = attempts;
    if (settings.threads !== undefined) addon.setThreads(settings.threads);
    if (settings.spinMicroseconds !== undefined) {
      addon.setSpinMicroseconds(settings.spinMicroseconds);
    }
    return { addon, info };
  }
  // Say also where no binary was found at all (no prebuilt binary for this platform).
  if (candidates.every((candidate) => candidate.source === 'local-build')) {
    attempts.push(
      ...describeAutoLocations(packageRoot).filter((attempt) =>
        attempt.candidate.endsWith('(prebuilt binaries)'),
      ),
    );
  }
  throw new AddonLoadError(attempts, fixesFor(packageRoot, env, attempts), requestingVariable(env));
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
