export * from './diagnostics.js';
export { analyze, analyzeSource, diskFiles, type Analysis, type AnalyzeOptions } from './analyze.js';
export { loadSpec, SEARCH_PLACES, MODULE_NAME, CONFIG_FORMATS, type ConfigFormat } from './config/load.js';
export { readSpecFile } from './config/read.js';
export { readRegularFile } from './model/context-files.js';
export {
  parseYamlSpec,
  plainSource,
  MAX_SPEC_BYTES,
  MAX_ALIAS_COUNT,
  type SpecSource,
  type SpecPath,
} from './config/source.js';
export { validateSchema, describePath } from './schema/validate.js';
export type { SpecFiles } from './model/context.js';
export { resolveModel, type ResolveOptions } from './model/resolve.js';
export type { Model, Image, Host, Registry, RegistryAuth, Strategy, SmokeTest } from './model/types.js';
export { checkPlatform, canEmulate, platformOfNodeArch, platformSlug } from './model/platform.js';
export { imageReferences, repositoryOf, isFullyQualified } from './model/containerfile.js';
export { expandSpecString, expandContainerfileString, resolveVariables } from './model/variables.js';
export { planBuild, type PlanOptions } from './plan/planner.js';
export { planInputs, readPlanFile } from './plan-file.js';
export {
  INPUT_HASH_VERSION,
  contextDigest,
  imagesToHash,
  inputHashes,
  type ContextEntry,
  type ImageSources,
  type InputHashes,
} from './model/inputs.js';
export {
  computeInputHashes,
  defaultStatCacheFile,
  type InputFilesOptions,
  type InputFilesResult,
  type InputFilesStats,
} from './exec/input-files.js';
export { StatCache, STAT_CACHE_FORMAT, RACY_MARGIN_NS } from './exec/stat-cache.js';
export { formatArg } from './plan/commands.js';
export * from './plan/types.js';
export {
  executePlan,
  checkRunInputs,
  DEFAULT_REGISTRY_IDLE_MS,
  type ExecuteOptions,
  type RunEvent,
} from './exec/run.js';
export { parseDuration, formatDuration, parseTimeout } from './util/duration.js';
export { LocalRunner } from './exec/local-runner.js';
export { secretEnvOf } from './exec/build-secrets.js';
export { ownerStamp } from './exec/leftovers.js';
export { KINDS, policyOf, retryClass, type KindPolicy } from './exec/kinds.js';
export { resolveArgs, resolveArgv, type ResolvedArgv, type RunValues } from './exec/values.js';
export { descendants, signalProcess } from './exec/process-tree.js';
export { SshRunner } from './exec/ssh-runner.js';
export { shellWord, shellCommand } from './exec/quote.js';
export * as ssh from './exec/ssh.js';
export type { Runner, Invocation, ProcessOutcome, RunOptions } from './exec/runner.js';
export { DEFAULT_RETRY, backoffDelay, parseRetryAfter, type RetryPolicy } from './exec/retry.js';
export { diagnoseExit, diagnoseSpawn, lastErrorLine } from './exec/failure.js';
export type { TaskFailure, FailureReason, Attempt, Diagnosis } from './exec/failure.js';
export type { TaskStatus } from './exec/scheduler.js';
export {
  REPORT_FORMAT_VERSION,
  type RunReport,
  type TaskReport,
  type ImageReport,
  type ImageStatus,
} from './exec/report.js';
export {
  analyzeLayout,
  isContainerfileName,
  isSkippedDirectory,
  imageNameFrom,
  type FoundContainerfile,
  type Layout,
  type LayoutImage,
} from './init/layout.js';
export { platformsOfManifestList, platformOf } from './init/platforms.js';
export { writeInitSpec, SCHEMA_URL, type InitSpec, type InitSpecOptions } from './init/write.js';
export { dockerNormalised } from './model/containerfile.js';
export {
  runDoctor,
  preflightChecks,
  overallStatus,
  type DoctorInput,
  type CheckResult,
  type CheckKind,
  type CheckStatus,
  type DoctorReport,
} from './doctor/index.js';
export {
  generateSigstoreKeyPair,
  encryptPrivateKey,
  decryptPrivateKey,
  publicKeyPem,
  COSIGN_KEY_PEM_TYPE,
  SIGSTORE_KEY_PEM_TYPE,
  SCRYPT_LEGACY,
  type KeyPairPem,
  type KeyFailure,
  type DecryptResult,
  type ScryptParams,
} from './signing/keys.js';
