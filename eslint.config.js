// ESLint (flat config) with typescript-eslint: rules that catch bugs, not taste (the formatter owns layout).
// The type-aware rules (floating promises, misused promises, awaiting non-promises, non-exhaustive
// switches) read the TypeScript program through the project service; `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // web/ (the console, Preact + Vite) has its own tsconfig and build; not linted yet.
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.bench/', 'data/', 'web/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-self-compare': 'error',
      'no-unreachable-loop': 'error',
      'no-constructor-return': 'error',
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // A caught error is rewritten on purpose where its text may carry a URL or credential: no `cause`.
      'preserve-caught-error': 'off',
      // Layout and taste, not bugs: left to the formatter and review.
      'prefer-const': 'off',
    },
  },
  {
    // Tests read loosely typed JSON answers; the source keeps `any` out (test/architecture.test.ts checks the core too).
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'vitest.config.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
    },
  },
);
