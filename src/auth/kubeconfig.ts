/**
 * Reads a kubeconfig the way client-go's clientcmd does for the parts a TokenReview client needs: the
 * current context's cluster (server, CA, insecure flag, TLS server name) and user (client certificate,
 * token or token file, basic auth). Relative paths resolve against the kubeconfig's directory (clientcmd's
 * ResolvePaths); `*-data` fields win over their file twins, and `token` wins over `tokenFile`, as in
 * client-go. Synchronous on purpose: it runs once at start-up, where a clear early failure is the point.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import type * as Yaml from 'yaml';
import { KubeconfigError } from './errors';

export interface KubeTlsConfig {
  /** PEM roots; absent means Node's default roots (what client-go does with no CA either). */
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify: boolean;
  /** `tls-server-name`: the name to verify the server certificate against, when not the URL's host. */
  readonly serverName?: string;
  readonly clientCert?: Buffer;
  readonly clientKey?: Buffer;
}

export type KubeCredentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  /** Re-read while running, like client-go's cached file token source, so projected tokens can rotate. */
  | { readonly kind: 'token-file'; readonly path: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string };

/** What a Kubernetes client needs to reach the API server: client-go's rest.Config, reduced. */
export interface KubeClientConfig {
  /** The kubeconfig path, or `in-cluster`; for log lines and error messages. */
  readonly source: string;
  readonly server: URL;
  readonly tls: KubeTlsConfig;
  readonly credentials: KubeCredentials;
}

type Mapping = Record<string, unknown>;

const isMapping = (v: unknown): v is Mapping => typeof v === 'object' && v !== null && !Array.isArray(v);
const q = (s: string): string => JSON.stringify(s);

/** Loads and resolves the kubeconfig at `file`. Throws KubeconfigError with a message naming the field. */
export function loadKubeconfig(file: string): KubeClientConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError('read-failed', `reading kubeconfig ${q(file)}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  return parseKubeconfig(text, file);
}

/** Parses kubeconfig `text`; `file` names it in messages and anchors relative paths. */
export function parseKubeconfig(text: string, file: string): KubeClientConfig {
  const where = `kubeconfig ${q(file)}`;
  // Loaded here, not with the module: most servers never read a kubeconfig, and the YAML parser costs
  // every process that loads it about 7 MB.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const yaml = require('yaml') as typeof Yaml;
  let doc: unknown;
  try {
    doc = yaml.parse(text);
  } catch (err) {
    throw new KubeconfigError('invalid-yaml', `${where} is not valid YAML: ${messageOf(err)}`, {
      cause: err,
    });
  }
  // client-go's message for an empty file; operators search for it.
  if (doc === null || doc === undefined)
    throw new KubeconfigError(
      'missing-field',
      `${where}: invalid configuration: no configuration has been provided`,
    );
  if (!isMapping(doc)) throw new KubeconfigError('invalid-yaml', `${where}: the top level must be a mapping`);

  const contextName = optString(doc, 'current-context', where);
  if (!contextName) throw new KubeconfigError('missing-field', `${where}: current-context is not set`);
  const context = named(doc, 'contexts', 'context', contextName, where);
  if (!context)
    throw new KubeconfigError(
      'not-found',
      `${where}: context was not found for specified context: ${contextName}`,
    );
  const ctxWhere = `${where}, context ${q(contextName)}`;

  const clusterName = optString(context, 'cluster', ctxWhere);
  if (!clusterName) throw new KubeconfigError('missing-field', `${ctxWhere}: context.cluster is not set`);
  const cluster = named(doc, 'clusters', 'cluster', clusterName, where);
  if (!cluster)
    throw new KubeconfigError('not-found', `${where}: no server found for cluster ${q(clusterName)}`);

  const userName = optString(context, 'user', ctxWhere);
  const user = userName ? named(doc, 'users', 'user', userName, where) : {};
  if (!user)
    throw new KubeconfigError('not-found', `${where}: auth info ${q(userName ?? '')} does not exist`);

  const dir = path.dirname(path.resolve(file));
  const clusterWhere = `${where}, cluster ${q(clusterName)}`;
  const userWhere = `${where}, user ${q(userName ?? '')}`;
  const cl = resolveCluster(cluster, dir, clusterWhere);
  const us = resolveUser(user, dir, userWhere);
  return { source: file, server: cl.server, tls: { ...cl.tls, ...us.tls }, credentials: us.credentials };
}

function resolveCluster(c: Mapping, dir: string, where: string): { server: URL; tls: KubeTlsConfig } {
  const serverText = optString(c, 'server', where);
  if (!serverText) throw new KubeconfigError('missing-field', `${where}: cluster has no server defined`);
  const server = parseServerUrl(serverText, where);
  const insecureSkipTlsVerify = optBool(c, 'insecure-skip-tls-verify', where);
  const ca = readPem(c, 'certificate-authority', dir, where);
  if (insecureSkipTlsVerify && ca) {
    // client-go's transport refuses this combination; silently preferring one would hide a mistake.
    throw new KubeconfigError(
      'invalid-value',
      `${where}: specifying a root certificates file with the insecure flag is not allowed`,
    );
  }
  const serverName = optString(c, 'tls-server-name', where);
  return {
    server,
    tls: { insecureSkipTlsVerify, ...(ca && { ca }), ...(serverName && { serverName }) },
  };
}

function resolveUser(
  u: Mapping,
  dir: string,
  where: string,
): { tls: Partial<KubeTlsConfig>; credentials: KubeCredentials } {
  for (const plugin of ['exec', 'auth-provider']) {
    if (u[plugin] !== undefined && u[plugin] !== null)
      throw new KubeconfigError(
        'unsupported',
        `${where}: ${plugin} credentials are not supported; use a client certificate or a token`,
      );
  }
  const clientCert = readPem(u, 'client-certificate', dir, where);
  const clientKey = readPem(u, 'client-key', dir, where);
  if (clientCert && !clientKey)
    throw new KubeconfigError(
      'missing-field',
      `${where}: client-key-data or client-key must be specified to use the clientCert authentication method`,
    );
  if (clientKey && !clientCert)
    throw new KubeconfigError(
      'missing-field',
      `${where}: client-certificate-data or client-certificate must be specified to use the clientCert authentication method`,
    );

  const token = optString(u, 'token', where);
  const tokenFile = optString(u, 'tokenFile', where);
  const username = optString(u, 'username', where);
  const password = optString(u, 'password', where);
  if ((token || tokenFile) && (username || password)) {
    throw new KubeconfigError(
      'invalid-value',
      `${where}: more than one authentication method found; found token and basic auth, only one is allowed`,
    );
  }
  let credentials: KubeCredentials = { kind: 'none' };
  if (token) credentials = { kind: 'token', token };
  else if (tokenFile) credentials = { kind: 'token-file', path: path.resolve(dir, tokenFile) };
  else if (username || password)
    credentials = { kind: 'basic', username: username ?? '', password: password ?? '' };
  return { tls: { ...(clientCert && { clientCert }), ...(clientKey && { clientKey }) }, credentials };
}

/** client-go's DefaultServerURL: a bare `host:port` means https. */
function parseServerUrl(text: string, where: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (err) {
    throw new KubeconfigError('invalid-value', `${where}: server ${q(text)} is not a URL`, { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new KubeconfigError('invalid-value', `${where}: server ${q(text)} must be an http or https URL`);
  return url;
}

/** `<field>-data` (base64 PEM) or `<field>` (a file path); the data field wins, as in client-go. */
function readPem(m: Mapping, field: string, dir: string, where: string): Buffer | undefined {
  const data = optString(m, `${field}-data`, where);
  if (data) return decodeBase64(data, `${field}-data`, where);
  const file = optString(m, field, where);
  if (!file) return undefined;
  const resolved = path.resolve(dir, file);
  try {
    return readFileSync(resolved);
  } catch (err) {
    throw new KubeconfigError(
      'read-failed',
      `${where}: unable to read ${field} ${q(resolved)}: ${messageOf(err)}`,
      { cause: err },
    );
  }
}

/** Strict like Go's base64.StdEncoding (Buffer.from would quietly drop bad characters). */
function decodeBase64(text: string, field: string, where: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact))
    throw new KubeconfigError('invalid-value', `${where}: ${field} is not valid base64`);
  return Buffer.from(compact, 'base64');
}

/** The `key` mapping of the entry called `name` in the list `listKey` (clientcmd's named lists). */
function named(doc: Mapping, listKey: string, key: string, name: string, where: string): Mapping | undefined {
  const list = doc[listKey];
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new KubeconfigError('invalid-yaml', `${where}: ${listKey} must be a list`);
  const entry: unknown = list.find((e) => isMapping(e) && e['name'] === name);
  if (!isMapping(entry)) return undefined;
  const value = entry[key];
  if (value === undefined || value === null) return {};
  if (!isMapping(value))
    throw new KubeconfigError('invalid-yaml', `${where}: ${listKey}[${q(name)}].${key} must be a mapping`);
  return value;
}

function optString(m: Mapping, key: string, where: string): string | undefined {
  const v = m[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new KubeconfigError('invalid-value', `${where}: ${key} must be a string`);
  return v;
}

function optBool(m: Mapping, key: string, where: string): boolean {
  const v = m[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean')
    throw new KubeconfigError('invalid-value', `${where}: ${key} must be true or false`);
  return v;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
