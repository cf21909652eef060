// klog's flag set, as the reference binaries expose it: klog.InitFlags on a Go FlagSet, each name
// run through util.Normalize (underscores to dashes) and added to the pflag set. Help texts and
// defaults are klog v2's. Only -v is acted on: we always log to stderr in one format.

import type { FlagSpec } from './flagSpec';
import { parseGoInt } from './flagValues';

const TO_STDERR_ONLY = 'we always write logs to stderr (the container runtime collects them), never to files';
const HEADER_FORMAT = 'our log line format is fixed';

const SEVERITIES = ['INFO', 'WARNING', 'ERROR', 'FATAL'];

/** klog's severity flag value: a name (any case) or a number. */
function checkSeverity(v: string): string | undefined {
  if (SEVERITIES.includes(v.toUpperCase())) return undefined;
  try {
    parseGoInt(v, { base: 10, bits: 32, unsigned: false });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** klog's -vmodule syntax: comma-separated pattern=N. */
function checkVmodule(v: string): string | undefined {
  for (const pat of v.split(',')) {
    if (pat === '') continue;
    const parts = pat.split('=');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || !/^[+-]?\d+$/.test(parts[1] ?? '')) {
      return 'syntax error: expect comma-separated list of filename=N';
    }
    if (Number(parts[1]) < 0) return 'negative value for vmodule level';
  }
  return undefined;
}

/** klog's -log_backtrace_at syntax: file.go:N. ":0" (its own printed default) is taken as unset. */
function checkBacktraceAt(v: string): string | undefined {
  if (v === '' || v === ':0') return undefined;
  const fields = v.split(':');
  if (fields.length !== 2 || !(fields[0] ?? '').includes('.') || !/^[+-]?\d+$/.test(fields[1] ?? '')) {
    return 'syntax error: expect file.go:234';
  }
  return Number(fields[1]) <= 0 ? 'negative or zero value for level' : undefined;
}

// The reference servers call local.Set("v", "4") around klog.InitFlags; whether that lands depends on
// the release (the agent's call runs before InitFlags and fails), so we keep klog's own default, 0.
export const DEFAULT_VERBOSITY = 0;

export const klogFlagSpecs: readonly FlagSpec[] = [
  {
    name: 'v',
    kind: 'int',
    default: DEFAULT_VERBOSITY,
    typeName: 'Level',
    syntax: { base: 10, bits: 32, unsigned: false },
    help: 'number for the log level verbosity',
  },
  {
    name: 'vmodule',
    kind: 'string',
    default: '',
    typeName: 'moduleSpec',
    check: checkVmodule,
    help: 'comma-separated list of pattern=N settings for file-filtered logging',
    compatOnly: 'verbosity is global; per-file levels do not map onto our modules',
  },
  {
    name: 'logtostderr',
    kind: 'bool',
    default: true,
    help: 'log to standard error instead of files',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'alsologtostderr',
    kind: 'bool',
    default: false,
    help: 'log to standard error as well as files (no effect when -logtostderr=true)',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'log-dir',
    kind: 'string',
    default: '',
    help: 'If non-empty, write log files in this directory (no effect when -logtostderr=true)',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'log-file',
    kind: 'string',
    default: '',
    help: 'If non-empty, use this log file (no effect when -logtostderr=true)',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'log-file-max-size',
    kind: 'int',
    default: 1800,
    typeName: 'uint64',
    syntax: { base: 0, bits: 64, unsigned: true },
    help:
      'Defines the maximum size a log file can grow to (no effect when -logtostderr=true). Unit is megabytes. ' +
      'If the value is 0, the maximum file size is unlimited.',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'stderrthreshold',
    kind: 'string',
    default: '2',
    typeName: 'severity',
    check: checkSeverity,
    help:
      'logs at or above this threshold go to stderr when writing to files and stderr ' +
      '(no effect when -logtostderr=true or -alsologtostderr=true)',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'one-output',
    kind: 'bool',
    default: false,
    help:
      'If true, only write logs to their native severity level (vs also writing to each lower severity level; ' +
      'no effect when -logtostderr=true)',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'add-dir-header',
    kind: 'bool',
    default: false,
    help: 'If true, adds the file directory to the header of the log messages',
    compatOnly: HEADER_FORMAT,
  },
  {
    name: 'skip-headers',
    kind: 'bool',
    default: false,
    help: 'If true, avoid header prefixes in the log messages',
    compatOnly: HEADER_FORMAT,
  },
  {
    name: 'skip-log-headers',
    kind: 'bool',
    default: false,
    help: 'If true, avoid headers when opening log files (no effect when -logtostderr=true)',
    compatOnly: TO_STDERR_ONLY,
  },
  {
    name: 'log-backtrace-at',
    kind: 'string',
    default: ':0', // klog prints an unset location this way
    typeName: 'traceLocation',
    check: checkBacktraceAt,
    help: 'when logging hits line file:N, emit a stack trace',
    compatOnly: 'Go source locations do not exist in this implementation',
  },
  {
    // Newer klog releases only; accepted so a manifest written for them keeps working.
    name: 'legacy-stderr-threshold-behavior',
    kind: 'bool',
    default: true,
    help: 'If true, stderrthreshold is ignored when logtostderr=true (legacy behavior).',
    compatOnly: TO_STDERR_ONLY,
  },
];
