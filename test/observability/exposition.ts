/** A minimal reader of the Prometheus text format, enough to assert on names, help, types and samples. */
export interface Family {
  help: string;
  type: string;
  samples: string[];
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { help: '', type: '', samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      // HELP text escapes backslash and newline; none of ours contain either.
      if (kind === 'HELP') family(name).help = rest;
      else family(name).type = rest;
      continue;
    }
    if (line === '') continue;
    const sampleName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    const base = [...families.keys()].find(
      (n) =>
        sampleName === n ||
        (sampleName.startsWith(n) && /^_(bucket|sum|count)$/.test(sampleName.slice(n.length))),
    );
    family(base ?? sampleName).samples.push(line);
  }
  return families;
}

/** The label names used by one sample line, e.g. `x{a="1",b="2"} 3` → ['a', 'b']. */
export function labelNames(sample: string): string[] {
  const body = /\{(.*)\}/.exec(sample)?.[1] ?? '';
  return [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((m) => m[1]!);
}

/** The `le` bounds of a histogram family, +Inf excluded. */
export function bucketBounds(family: Family): number[] {
  return family.samples
    .filter((s) => s.includes('_bucket{'))
    .map((s) => /le="([^"]+)"/.exec(s)![1]!)
    .filter((le) => le !== '+Inf')
    .map(Number);
}
