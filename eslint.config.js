// typescript-eslint's strictest type-checked rules, with switch exhaustiveness: a union
// member (a task kind, a failure reason, an output format) that a switch forgets is an error.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/*.generated.*',
      'bench/plan/.work/**',
      'bench/inputs/.work/**',
      '.turbo/**',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        project: [
          './packages/core/tsconfig.test.json',
          './packages/cli/tsconfig.test.json',
          './bench/tsconfig.json',
          './tsconfig.tools.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Numbers and booleans read fine in messages; objects and undefined are still errors.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // With noUncheckedIndexedAccess, `x!` after a check the compiler cannot follow is the honest spelling.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `() => void list.push(x)` and `(x) => write(x)` say what they mean.
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidOperator: true },
      ],
      // A kind's outcome check is async by its interface; one that needs no await is not a bug.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // vitest's asymmetric matchers (expect.objectContaining) and JSON.parse of a CLI's output are `any` by design.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Cleanups guard what a failed beforeAll may have left unset (`registry?.stop()`), against the declared type.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    // Build scripts and the plan benchmark are plain JavaScript: the recommended rules, no types.
    files: ['**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.recommended, tseslint.configs.disableTypeChecked],
  },
);
