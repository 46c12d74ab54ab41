import { fileURLToPath } from 'node:url';

/** The built CLI's bin shim, and the repository root. */
export const BIN = fileURLToPath(new URL('../bin/orchestrate.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
