// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const kubernetesClient = {
  name: '@kubernetes/client-node',
  message: 'The pure core (bundle, signing, policy, planning) must stay free of Kubernetes I/O.',
};

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.sandbox*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { ecmaVersion: 2023, sourceType: 'module' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/bundle/**', 'src/overrides/**', 'src/signing/**', 'src/policy/**', 'src/verify/**', 'src/apply/plan*.ts', 'src/status/model*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [kubernetesClient, { name: 'node:child_process', message: 'pure core: no processes' }] }],
    },
  },
  {
    files: ['scripts/**/*.mjs', '*.js'],
    languageOptions: { globals: { URL: 'readonly', process: 'readonly', console: 'readonly' } },
  },
);
