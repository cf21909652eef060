// --help in pflag's layout (sorted, `--name type   help (default x)`), with the flags we accept only
// for compatibility listed apart, each with the reason it is not acted on.

import type { FlagSpec } from './flagSpec';
import { formatGoDuration } from './goDuration';

const TYPE_NAMES: Readonly<Record<FlagSpec['kind'], string>> = {
  string: 'string',
  int: 'int',
  float: 'float32',
  bool: '', // pflag prints no type for bools
  duration: 'duration',
  stringList: 'strings',
  port: 'int',
};

/** The default as pflag prints it, or undefined when pflag would omit it (zero values). */
function defaultText(spec: FlagSpec): string | undefined {
  switch (spec.kind) {
    case 'string':
      return spec.default === '' ? undefined : JSON.stringify(spec.default);
    case 'int':
    case 'port':
    case 'float':
      return spec.default === 0 ? undefined : String(spec.default);
    case 'bool':
      return spec.default ? 'true' : undefined;
    case 'duration':
      return spec.default === 0 ? undefined : formatGoDuration(spec.default);
    case 'stringList':
      return spec.default.length === 0 ? undefined : `[${spec.default.join(',')}]`;
    default: {
      const _exhaustive: never = spec;
      return _exhaustive;
    }
  }
}

function left(spec: FlagSpec): string {
  const short = spec.name.length === 1 ? `-${spec.name}, ` : '    ';
  const type = spec.typeName ?? TYPE_NAMES[spec.kind];
  return `  ${short}--${spec.name}${type === '' ? '' : ` ${type}`}`;
}

function right(spec: FlagSpec): string {
  const def = defaultText(spec);
  const env = spec.env === undefined ? '' : ` [env ${spec.env}]`;
  const deprecated = spec.deprecated === undefined ? '' : ` (DEPRECATED: ${spec.deprecated})`;
  return `${spec.help}${def === undefined ? '' : ` (default ${def})`}${env}${deprecated}`;
}

function block(specs: readonly FlagSpec[], width: number, withReason: boolean): string[] {
  const lines: string[] = [];
  for (const spec of specs) {
    lines.push(`${left(spec).padEnd(width)}   ${right(spec)}`);
    if (withReason && spec.compatOnly !== undefined) {
      lines.push(`${''.padEnd(width)}   [not acted on: ${spec.compatOnly}]`);
    }
  }
  return lines;
}

export function formatHelp(specs: readonly FlagSpec[], binaryName: string): string {
  const sorted = [...specs].sort((a, b) => a.name.localeCompare(b.name));
  const active = sorted.filter((s) => s.compatOnly === undefined);
  const compat = sorted.filter((s) => s.compatOnly !== undefined);
  const width = Math.max(...sorted.map((s) => left(s).length));
  return [
    'Usage:',
    `  ${binaryName} [flags]`,
    '',
    'Flags (underscores and dashes in names are equivalent; durations use Go syntax such as 1h0m0s):',
    ...block(active, width, false),
    '',
    'Accepted for compatibility only (parsed and validated, but not acted on):',
    ...block(compat, width, true),
    '',
  ].join('\n');
}
