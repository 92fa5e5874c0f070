import * as fs from 'fs';
import * as path from 'path';

// binding.gyp and CMakeLists.txt list their sources by hand (gyp cannot glob); this keeps both
// lists equal to the files on disk, so neither build silently misses a new kernel.
const packageRoot = path.resolve(__dirname, '..', '..');

function filesUnder(dir: string, extension: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(packageRoot, dir), { withFileTypes: true })) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) found.push(...filesUnder(relative, extension));
    else if (entry.name.endsWith(extension)) found.push(relative);
  }
  return found.sort();
}

function gypSources(): string[] {
  const text = fs.readFileSync(path.join(packageRoot, 'binding.gyp'), 'utf8');
  // gyp files are Python literals; without comments, the ones here are also JSON.
  const json = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  const gyp = JSON.parse(json) as { targets: { target_name: string; sources: string[] }[] };
  expect(gyp.targets.map((target) => target.target_name)).toEqual(['superlora']);
  return [...(gyp.targets[0]?.sources ?? [])].sort();
}

function cmakeList(variable: string): string[] {
  const text = fs.readFileSync(path.join(packageRoot, 'CMakeLists.txt'), 'utf8');
  const match = new RegExp(`set\\(${variable}\\s+([^)]*)\\)`).exec(text);
  expect(match).not.toBeNull();
  return (match?.[1] ?? '').split(/\s+/).filter(Boolean).sort();
}

describe('build source lists', () => {
  test('binding.gyp compiles every native/ source', () => {
    expect(gypSources()).toEqual(filesUnder('native', '.cc'));
  });

  test('CMakeLists.txt compiles the same C++ sources as binding.gyp', () => {
    expect(cmakeList('SUPERLORA_CPU_SOURCES')).toEqual(gypSources());
  });

  test('CMakeLists.txt compiles every cuda/ source', () => {
    expect(cmakeList('SUPERLORA_CUDA_SOURCES')).toEqual(filesUnder('cuda', '.cu'));
  });

  test('neither build uses -march=native (binaries must run on any CPU of the architecture)', () => {
    for (const file of ['binding.gyp', 'CMakeLists.txt']) {
      const text = fs
        .readFileSync(path.join(packageRoot, file), 'utf8')
        .split('\n')
        .filter((line) => !line.trim().startsWith('#'))
        .join('\n');
      expect(text).not.toMatch(/-march=|-mtune=|-mavx|-mfma/);
    }
  });
});
