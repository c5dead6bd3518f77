// ESLint 9 flat config: typescript-eslint's type-checked rules over src/, test/, bench/ and the
// config files. `npm run lint` runs it, then `prettier --check`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'data/', 'node_modules/', 'test-artifacts/', '.scratch/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        // One program for every file (tsconfig.eslint.json adds bench/'s JavaScript to tsconfig.json):
        // a default project per .mjs file made bench/ cost as much lint time as src/ and test/ together.
        project: ['./tsconfig.eslint.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its error: the run "succeeds" with a page missing.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Async fakes and interface implementations without an await are the norm here (and turn a
      // throw into a rejection); the rule would ask to remove `async` from every one of them.
      '@typescript-eslint/require-await': 'off',
      // Passing on an abort reason or a caught error as it came is intended.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `const { omitted: _, ...rest } = x` drops a property; `_name` marks an argument unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Stripping and testing control characters is what the sanitizers do.
      'no-control-regex': 'off',
    },
  },
  {
    // vitest's asymmetric matchers (expect.any(String), expect.stringMatching(...)) are typed `any` on
    // purpose, so they can stand in for any value; placed in an object literal, each one is an "unsafe
    // assignment". Reading a property of, calling or passing on an `any` is still caught by the other
    // no-unsafe-* rules, and parsed JSON is given its type (`JSON.parse(out) as RunJson`).
    files: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // Plain JavaScript: every value from JSON or an untyped import is `any`, so the no-unsafe-*
    // rules would flag nearly every line; the promise rules still apply where types are inferred.
    files: ['**/*.mjs', '**/*.js'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
