/**
 * The spec as written, once it has passed the schema: the types are generated from
 * schemas/multiarch.schema.json (spec.generated.ts, by scripts/spec-types.mjs in the build),
 * so they cannot drift from it. These are the names the resolver uses for them.
 */
export type {
  MultiarchYaml as SpecDocument,
  Registry as RegistrySpec,
  Host as HostSpec,
  Image as ImageSpec,
} from './spec.generated.js';
