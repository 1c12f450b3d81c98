// Lint with type information: the rules below catch what the compiler lets through (promises nobody
// awaits, `any` leaking across boundaries, assertions that change nothing, unused code).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'clients/**', '.ci/out/**', 'packages/server/web/**/*.js', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  {
    files: ['packages/*/src/**/*.ts', 'packages/server/web/**/*.ts', 'examples/*/src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Route handlers and interface implementations are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      // `'aal1' | 'aal2' | string` keeps the known values visible to editors while accepting others.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // Values read from untrusted JSON are shown with `String(value)` on purpose: any shape prints.
      '@typescript-eslint/no-base-to-string': 'off',
      // Interfaces declare function members in method syntax and none of them uses `this`.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
