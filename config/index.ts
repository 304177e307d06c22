/** Public surface of the config package: loading, linting, redaction, generated artifacts. */
export { checkReferences } from './crossref.ts';
export { defaultRegistry } from './default-registry.ts';
export { type Env, interpolateString } from './interpolate.ts';
export { ConfigError, type ConfigIssue, formatIssue, formatIssues as formatIssueList } from './issues.ts';
export { buildJsonSchema } from './jsonschema.ts';
export {
  expandPaths,
  formatIssues,
  type LintResult,
  lintExample,
  lintExitCode,
  lintFiles,
  lintSpecExamples,
} from './lint.ts';
export { loadConfig, validateConfigText } from './load.ts';
export type { OpConfig, PipelineConfig, SinkConfig, SourceConfig, StreamConfig } from './pipeline-config.ts';
export { buildPipelineSchema } from './pipeline-schema.ts';
export { isSecretField, REDACTED, redactConfig, redactUrl } from './redact.ts';
export { type ComponentSpec, type OpSpec, Registry, type SinkSpec, type SourceSpec } from './registry.ts';
