// Lint guards what review misses under pressure: un-awaited promises (a lost
// Connect call is a step that silently did not happen) and non-determinism in
// workflow code (I/O in a workflow breaks replay after a crash).
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', 'node_modules/**', '.stack/**', 'reports/**', 'eslint.config.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      // allowDefaultProject: the lint-guard test lints virtual files that is not on disk.
      parserOptions: {
        projectService: { allowDefaultProject: ['*/lint-probe.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself tracks.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code must be deterministic: do I/O in an activity.' })),
            { name: 'kafkajs', message: 'Kafka calls belong in activities/, not in workflow code.' },
            { name: 'axios', message: 'HTTP calls belong in activities/, not in workflow code.' },
          ],
          patterns: [
            {
              group: ['**/activities', '**/activities/**', '**/src/stack/**', '**/src/connect/**', '**/src/kafka/**'],
              allowTypeImports: true,
              message: 'Workflows import activity types only (import type ...); side effects run in activities.',
            },
          ],
        },
      ],
    },
  },
);
