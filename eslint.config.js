// ESLint for the TypeScript and JavaScript of the whole tree (Prettier owns the layout).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'shims/vendor/', 'shims/golden/', '.test-artifacts/', 'bench/results/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Prettier wraps code at 140; this catches what it cannot wrap (long comments). Strings
      // and template literals stay whole: a message split over lines is harder to grep for.
      'max-len': ['error', { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      // `_unused` marks a value kept on purpose (destructuring something out, a callback's shape).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests and their helpers read parsed JSON answers of every shape: `any` is the honest type there.
    files: ['**/*.test.ts', 'sidecar/test-helpers/**', 'shims/generator/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The admin screen runs in the browser, as a classic script (no modules).
    files: ['admin-ui/keybridge-admin*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
);
