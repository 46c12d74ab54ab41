// Types of the module packages/core/scripts/compile-schema.mjs generates at build time.
import type { ErrorObject } from 'ajv';

export interface GeneratedValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}
export declare const validate: GeneratedValidator;
export default validate;
export declare const schemaHash: string;
