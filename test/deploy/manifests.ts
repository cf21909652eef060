/**
 * Checks for the YAML under deploy/, offline:
 *
 * 1. schema: each Kubernetes object through the validator `kubernetes-models` ships for its apiVersion and
 *    kind (types, enums, formats, required fields);
 * 2. strictness: each object as an object literal of that package's TypeScript type (our own types for the
 *    TenantControlPlane and the EgressSelectorConfiguration, see manifestTypes.ts), compiled with the
 *    TypeScript compiler, so an unknown or misspelt field is an error the schema validator lets through;
 * 3. flags: every container that runs our image, its `command` + `args` through our own flag parsing, with
 *    `$(VAR)` expanded as the kubelet does and files counted as present only under the container's mounts.
 */
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { parseAgentFlags } from '../../src/config/agentOptions';
import { parseServerFlags } from '../../src/config/serverOptions';
import { kamajiAgentArgs, kamajiServerArgs } from '../helpers/kamaji';
import type { TenantControlPlane as TcpShape } from './manifestTypes';

export const DEPLOY_DIR = path.join(__dirname, '..', '..', 'deploy');

export interface ManifestObject {
  /** `deploy/<file>#<index>`. */
  readonly source: string;
  readonly object: Record<string, unknown>;
}

export function listManifestFiles(dir = DEPLOY_DIR): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f))
    .sort();
}

export function loadManifests(files: readonly string[]): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    docs.forEach((doc, i) => {
      if (doc.errors.length > 0)
        throw new Error(`${file}#${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const object = doc.toJS() as unknown;
      if (object === null) return;
      if (typeof object !== 'object' || Array.isArray(object)) throw new Error(`${file}#${i}: not an object`);
      out.push({
        source: `${path.relative(path.dirname(DEPLOY_DIR), file)}#${i}`,
        object: object as Record<string, unknown>,
      });
    });
  }
  return out;
}

/** Our own types for objects kubernetes-models does not have. */
const LOCAL_TYPES: Readonly<Record<string, string>> = {
  'kamaji.clastix.io/v1alpha1/TenantControlPlane': 'TenantControlPlane',
  'apiserver.k8s.io/v1beta1/EgressSelectorConfiguration': 'EgressSelectorConfiguration',
  'apiserver.k8s.io/v1/EgressSelectorConfiguration': 'EgressSelectorConfiguration',
};

const typeKey = (o: Record<string, unknown>): string => `${String(o['apiVersion'])}/${String(o['kind'])}`;

interface KubernetesModel {
  validate(): void;
}

/** Problems the package's runtime validator finds; an unknown apiVersion/kind is a problem too. */
export function schemaProblems(m: ManifestObject): string[] {
  const key = typeKey(m.object);
  if (LOCAL_TYPES[key]) return []; // checked by type only
  let Model: new (data: unknown) => KubernetesModel;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`kubernetes-models/${key}`) as Record<string, new (data: unknown) => KubernetesModel>;
    Model = mod[String(m.object['kind'])]!;
  } catch (err) {
    return [`${m.source}: no Kubernetes schema for ${key} (${(err as Error).message.split('\n')[0]})`];
  }
  try {
    new Model(m.object).validate();
    return [];
  } catch (err) {
    return [`${m.source}: ${(err as Error).message}`];
  }
}

/** Type-checks every object as a literal of its type; returns the compiler's messages. */
export function typeProblems(manifests: readonly ManifestObject[]): string[] {
  const dir = path.join(__dirname, '__virtual__');
  const files = new Map<string, string>();
  manifests.forEach((m, i) => {
    const key = typeKey(m.object);
    const local = LOCAL_TYPES[key];
    const kind = String(m.object['kind']);
    const importLine = local
      ? `import type { ${local} as T } from '../manifestTypes';`
      : `import type { I${kind} as T } from 'kubernetes-models/${key}';`;
    files.set(
      path.join(dir, `m${i}.ts`),
      `// ${m.source}\n${importLine}\nexport const manifest: T = ${JSON.stringify(m.object, null, 2)};\n`,
    );
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const disk = ts.createCompilerHost(options);
  const host: ts.CompilerHost = {
    ...disk,
    fileExists: (f) => files.has(f) || disk.fileExists(f),
    readFile: (f) => files.get(f) ?? disk.readFile(f),
    getSourceFile: (f, lang, ...rest) => {
      const text = files.get(f);
      return text !== undefined ? ts.createSourceFile(f, text, lang) : disk.getSourceFile(f, lang, ...rest);
    },
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const source = d.file ? (files.get(d.file.fileName)?.split('\n')[0]?.slice(3) ?? d.file.fileName) : '';
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const line = where ? ` (line ${where.line + 1} of the generated literal)` : '';
    return `${source}${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { mountPath: string }[];
}

/** A program of ours inside the image, and the parser that reads its command line. */
const OUR_COMMANDS: Readonly<Record<string, 'server' | 'agent'>> = {
  '/proxy-server': 'server',
  '/proxy-agent': 'agent',
};

/** Where Kubernetes mounts the service account unless told otherwise. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface CommandLine {
  readonly source: string;
  readonly program: 'server' | 'agent';
  readonly args: readonly string[];
  /** Directories and files the container has mounted. */
  readonly mounts: readonly string[];
}

/** The kubelet's `$(VAR)` expansion; values from valueFrom become a stand-in of the right shape. */
function expand(arg: string, env: Container['env']): string {
  return arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
    const e = env?.find((v) => v.name === name);
    if (!e) return whole;
    return e.value ?? (/IP$/.test(name) ? '10.0.0.1' : 'node-1');
  });
}

interface PodSpecShape {
  containers?: Container[];
  automountServiceAccountToken?: boolean;
}

function podSpecOf(object: Record<string, unknown>): PodSpecShape | undefined {
  const spec = object['spec'] as (PodSpecShape & { template?: { spec?: PodSpecShape } }) | undefined;
  return object['kind'] === 'Pod' ? spec : spec?.template?.spec;
}

/** Command lines of our programs in Pods and pod templates. */
export function containerCommandLines(manifests: readonly ManifestObject[]): CommandLine[] {
  const out: CommandLine[] = [];
  for (const m of manifests) {
    const pod = podSpecOf(m.object);
    for (const c of pod?.containers ?? []) {
      const program = OUR_COMMANDS[c.command?.[0] ?? ''];
      if (!program) continue;
      const mounts = (c.volumeMounts ?? []).map((v) => v.mountPath);
      if (pod?.automountServiceAccountToken !== false) mounts.push(SERVICE_ACCOUNT_DIR);
      const args = [...(c.command ?? []).slice(1), ...(c.args ?? [])].map((a) => expand(a, c.env));
      out.push({ source: `${m.source} container ${c.name}`, program, args, mounts });
    }
  }
  return out;
}

/** Runs a command line through our parser; returns the error, or undefined when it is accepted. */
export function flagProblem(cl: CommandLine): string | undefined {
  const fileExists = (p: string): boolean => cl.mounts.some((m) => p === m || p.startsWith(`${m}/`));
  const parse = cl.program === 'server' ? parseServerFlags : parseAgentFlags;
  try {
    const result = parse(cl.args, {}, { deps: { fileExists } });
    if ('help' in result && typeof result.help === 'string') return `${cl.source}: asks for --help`;
    return undefined;
  } catch (err) {
    return `${cl.source}: ${(err as Error).message}`;
  }
}

/** The containers Kamaji mounts into its server sidecar and agent pods (see test/helpers/kamaji.ts). */
const KAMAJI_SERVER_MOUNTS = [
  '/etc/kubernetes/pki',
  '/etc/kubernetes/konnectivity-server.conf',
  '/run/konnectivity',
];
const KAMAJI_AGENT_MOUNTS = ['/var/run/secrets/tokens', SERVICE_ACCOUNT_DIR];

/** What Kamaji would run for each TenantControlPlane: its own flags merged with the extraArgs. */
export function kamajiCommandLines(manifests: readonly ManifestObject[]): CommandLine[] {
  const out: CommandLine[] = [];
  for (const m of manifests) {
    if (typeKey(m.object) !== 'kamaji.clastix.io/v1alpha1/TenantControlPlane') continue;
    const spec = m.object['spec'] as TcpShape['spec'];
    const k = spec.addons?.konnectivity;
    if (!k) continue;
    out.push({
      source: `${m.source} Kamaji's server sidecar`,
      program: 'server',
      args: kamajiServerArgs({
        agentPort: k.server?.port,
        replicas: spec.controlPlane.deployment?.replicas,
        extraArgs: k.server?.extraArgs,
      }),
      mounts: KAMAJI_SERVER_MOUNTS,
    });
    out.push({
      source: `${m.source} Kamaji's agent`,
      program: 'agent',
      args: kamajiAgentArgs({ proxyServerPort: k.server?.port, extraArgs: k.agent?.extraArgs }),
      mounts: KAMAJI_AGENT_MOUNTS,
    });
  }
  return out;
}
