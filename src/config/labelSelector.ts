// Syntax checks for Kubernetes label strings, used by the lease flags. We do not count leases, so
// these only make sure that a manifest the reference would reject is rejected here too.

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A qualified label key: [prefix/]name, name at most 63 characters. */
function checkKey(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `invalid label key ${JSON.stringify(key)}: prefix must be a DNS subdomain`;
  }
  if (name.length > 63 || !NAME.test(name)) {
    return (
      `invalid label key ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' ` +
      `or '.', and must start and end with an alphanumeric character`
    );
  }
  return undefined;
}

function checkValue(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && NAME.test(value))) return undefined;
  return (
    `invalid label value ${JSON.stringify(value)}: must be 63 characters or less and consist of alphanumeric ` +
    `characters, '-', '_' or '.', starting and ending with an alphanumeric character`
  );
}

/** Splits on commas that are not inside `in (...)` / `notin (...)` value sets. */
function splitRequirements(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of selector) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}

function checkRequirement(req: string): string | undefined {
  const r = req.trim();
  if (r === '') return 'found empty requirement, expected a label key';
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(r);
  if (set !== null) {
    const values = (set[3] ?? '').split(',').map((v) => v.trim());
    return checkKey(set[1] ?? '') ?? values.map(checkValue).find((w) => w !== undefined);
  }
  const cmp = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/.exec(r);
  if (cmp !== null) {
    const [, key = '', op = '', value = ''] = cmp;
    if ((op === '<' || op === '>') && !/^-?\d+$/.test(value)) {
      return `for '<', '>' operators, exactly one integer value is required, got ${JSON.stringify(value)}`;
    }
    return checkKey(key) ?? checkValue(value);
  }
  const exists = /^!?\s*([^=!<>\s()]+)$/.exec(r);
  if (exists !== null) return checkKey(exists[1] ?? '');
  return `unable to parse requirement ${JSON.stringify(r)}`;
}

/** labels.Parse syntax (equality, set and existence requirements). Empty selects everything. */
export function checkLabelSelector(selector: string): string | undefined {
  if (selector.trim() === '') return undefined;
  for (const req of splitRequirements(selector)) {
    const why = checkRequirement(req);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** The server's util.ParseLabels: non-empty, comma-separated key=value pairs. */
export function checkLabelPairs(labels: string): string | undefined {
  if (labels === '') return 'empty string provided';
  for (const pair of labels.split(',')) {
    if (pair.split('=').length !== 2) return `invalid label format: ${pair}`;
  }
  return undefined;
}
