// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores, includeIgnoreFile } from 'eslint/config';
import { fileURLToPath } from 'node:url';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  includeIgnoreFile(fileURLToPath(new URL('.gitignore', import.meta.url))),
  // Also ignored even if .gitignore changes: build outputs, downloaded or generated data, the shared
  // design documents, and the C++/CUDA trees (clang-format checks those).
  globalIgnores([
    'dist/',
    'build/',
    'build-cmake/',
    'build-cuda/',
    'node_modules/',
    'coverage/',
    'prebuilds/',
    'models/',
    'docs/results/',
    'bench/results/',
    'shared/',
    'native/',
    'cuda/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
    },
    rules: {
      // An underscore marks a parameter or binding as deliberately unused (callbacks, interface shapes).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // package.json has no "type", so .js files are CommonJS (bin/, scripts/, jest.config.js).
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest } },
  },
);
