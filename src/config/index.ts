// Public surface of the configuration module, for the entry points.

export { parseOrExit, processIo, EXIT_USAGE, type CliIo } from './cli';
export { FlagError, isFlagError, type FlagErrorReason } from './flagError';
export { parseServerFlags, SERVER_BINARY_NAME, type ServerOptions } from './serverOptions';
export {
  parseAgentFlags,
  AGENT_BINARY_NAME,
  type AgentOptions,
  type ServerCountSource,
} from './agentOptions';
export { serverFlagSpecs } from './serverFlags';
export { agentFlagSpecs } from './agentFlags';
export { formatHelp } from './formatHelp';
export { parseGoDuration, formatGoDuration } from './goDuration';
export type { CommonOptions } from './commonOptions';
export type { AllowedDestination, PortRange, ServerAddress } from './addresses';
export type { AgentIdentifiers } from '../protocol/agentIdentifiers';
export type { ConfigDeps, ParseFlagsOptions } from './deps';
export type { FlagSpec } from './flagSpec';
