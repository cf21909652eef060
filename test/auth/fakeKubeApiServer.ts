/**
 * A real HTTPS server that answers TokenReviews the way kube-apiserver does: it authenticates its own
 * client (a client certificate signed by the test CA, or one bearer token), checks method, path,
 * Content-Type and the object's apiVersion/kind/spec, answers 201 with a TokenReview whose status follows
 * the API server's rules (audiences intersected, an error for a token minted for another audience), and
 * answers bad requests with a Status object and the code the API server uses. Every request is recorded.
 */
import { writeFile } from 'fs/promises';
import type { IncomingMessage, ServerResponse } from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as path from 'path';
import type { TLSSocket } from 'tls';
import { stringify as toYaml } from 'yaml';
import type { TlsDir } from '../helpers/tls';

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
/** kube-apiserver's default --api-audiences when none are configured. */
export const API_SERVER_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export type ClientAuth =
  { readonly kind: 'client-cert' } | { readonly kind: 'bearer'; readonly token: string };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** Whether the TLS client certificate verified against the test CA. */
  readonly clientCertVerified: boolean;
  /** The client's source port: equal ports mean one reused connection. */
  readonly clientPort: number | undefined;
  statusCode?: number;
}

interface TokenIdentity {
  readonly username: string;
  readonly audiences: readonly string[];
  readonly groups: readonly string[];
}

/** How `status.audiences` is reported: the API server's intersection, or a misbehaving server's answer. */
export type AudienceReporting = 'intersect' | 'omit' | { readonly fixed: readonly string[] };

export class FakeKubeApiServer {
  readonly requests: RecordedRequest[] = [];
  audienceReporting: AudienceReporting = 'intersect';
  /** Delay before each answer; `Infinity` holds requests until close(). */
  delayMs = 0;
  private readonly identities = new Map<string, TokenIdentity>();
  private readonly invalid = new Map<string, string>();
  private failures: { statusCode: number; body: string }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(
    private readonly server: https.Server,
    private readonly tls: TlsDir,
    private readonly clientAuth: ClientAuth,
  ) {}

  static async start(
    tls: TlsDir,
    clientAuth: ClientAuth = { kind: 'client-cert' },
  ): Promise<FakeKubeApiServer> {
    const server = https.createServer({
      cert: tls.pems.server.cert,
      key: tls.pems.server.key,
      ca: tls.pems.ca.cert,
      // Asked for but checked per request, so the bearer mode can serve clients without one.
      requestCert: true,
      rejectUnauthorized: false,
    });
    const fake = new FakeKubeApiServer(server, tls, clientAuth);
    server.on('request', (req, res) => fake.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** TokenReviews that reached the review logic (authenticated, well-formed). */
  get reviewCount(): number {
    return this.requests.filter((r) => r.statusCode === 201).length;
  }

  /** A projected service-account token, valid for `audiences`. */
  addServiceAccountToken(
    token: string,
    namespace: string,
    serviceAccount: string,
    audiences: readonly string[],
  ): void {
    this.identities.set(token, {
      username: `system:serviceaccount:${namespace}:${serviceAccount}`,
      audiences,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    });
  }

  /** A token of some other kind of user (a node, an admin). */
  addUserToken(token: string, username: string, audiences: readonly string[]): void {
    this.identities.set(token, { username, audiences, groups: ['system:authenticated'] });
  }

  /** A token an authenticator recognises but rejects (bad signature, deleted pod): status.error is set. */
  addInvalidToken(token: string, error: string): void {
    this.invalid.set(token, error);
  }

  /** The next request gets this raw answer instead of a review (e.g. 500 from an overloaded server). */
  failNext(statusCode: number, body: string): void {
    this.failures.push({ statusCode, body });
  }

  /** Writes a kubeconfig pointing here; `inline` embeds PEMs as *-data, else relative file paths. */
  async writeKubeconfig(
    dir: string,
    opts: {
      credentials: 'client-cert' | 'token' | 'token-file' | 'none';
      inline?: boolean;
      tokenFile?: string;
    },
  ): Promise<string> {
    const file = path.join(dir, `kubeconfig-${opts.credentials}-${opts.inline ? 'inline' : 'files'}.yaml`);
    const ref = (p: string): string => path.relative(dir, p);
    const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
    const cluster = opts.inline
      ? { server: this.url, 'certificate-authority-data': b64(this.tls.pems.ca.cert) }
      : { server: this.url, 'certificate-authority': ref(this.tls.caCert) };
    const user: Record<string, string> = {};
    if (opts.credentials === 'client-cert') {
      Object.assign(
        user,
        opts.inline
          ? {
              'client-certificate-data': b64(this.tls.pems.frontendClient.cert),
              'client-key-data': b64(this.tls.pems.frontendClient.key),
            }
          : {
              'client-certificate': ref(this.tls.frontendClientCert),
              'client-key': ref(this.tls.frontendClientKey),
            },
      );
    } else if (opts.credentials === 'token') {
      user['token'] = this.clientAuth.kind === 'bearer' ? this.clientAuth.token : 'no-token-configured';
    } else if (opts.credentials === 'token-file') {
      user['tokenFile'] = ref(opts.tokenFile ?? path.join(dir, 'token'));
    }
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'konnectivity',
      clusters: [{ name: 'fake', cluster }],
      users: [{ name: 'konnectivity-server', user }],
      contexts: [{ name: 'konnectivity', context: { cluster: 'fake', user: 'konnectivity-server' } }],
    };
    await writeFile(file, toYaml(doc));
    return file;
  }

  /** Stops listening and drops every connection, held requests included. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await done;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        clientCertVerified: (req.socket as TLSSocket).authorized,
        clientPort: req.socket.remotePort,
      };
      this.requests.push(record);
      const answer = this.answer(record);
      const send = (): void => {
        record.statusCode = answer.statusCode;
        res.writeHead(answer.statusCode, { 'Content-Type': 'application/json' });
        res.end(answer.body);
      };
      if (this.delayMs === 0) return send();
      if (this.delayMs === Infinity) return; // held until close()
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
      }, this.delayMs);
      this.timers.add(t);
    });
  }

  private answer(r: RecordedRequest): Answer {
    if (!this.clientAuthenticated(r)) return status(401, 'Unauthorized', 'Unauthorized');
    const failure = this.failures.shift();
    if (failure) return failure;
    if (r.path.split('?')[0] !== TOKEN_REVIEW_PATH)
      return status(404, 'NotFound', 'the server could not find the requested resource');
    if (r.method !== 'POST')
      return status(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    const type = String(r.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    if (type !== 'application/json') {
      return status(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
      );
    }
    let review: unknown;
    try {
      review = JSON.parse(r.body);
    } catch (err) {
      return status(400, 'BadRequest', `error decoding TokenReview: ${(err as Error).message}`);
    }
    const problem = reviewProblem(review);
    if (problem) return status(400, 'BadRequest', problem);
    const spec = (review as { spec: { token: string; audiences?: string[] } }).spec;
    return {
      statusCode: 201,
      body: JSON.stringify({
        kind: 'TokenReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: this.review(spec.token, spec.audiences ?? []),
      }),
    };
  }

  private clientAuthenticated(r: RecordedRequest): boolean {
    if (this.clientAuth.kind === 'client-cert') return r.clientCertVerified;
    return r.headers['authorization'] === `Bearer ${this.clientAuth.token}`;
  }

  private review(token: string, requested: readonly string[]): Record<string, unknown> {
    const error = this.invalid.get(token);
    if (error !== undefined) return { user: {}, error };
    const identity = this.identities.get(token);
    if (!identity) return { user: {} };
    const wanted = requested.length > 0 ? requested : [API_SERVER_AUDIENCE];
    const granted = wanted.filter((a) => identity.audiences.includes(a));
    if (granted.length === 0) {
      return {
        user: {},
        error: `[invalid bearer token, token audiences ${goList(identity.audiences)} is invalid for the target audiences ${goList(wanted)}]`,
      };
    }
    const reported = this.audienceReporting;
    return {
      authenticated: true,
      user: { username: identity.username, uid: `uid-of-${identity.username}`, groups: identity.groups },
      ...(reported === 'intersect' && { audiences: granted }),
      ...(typeof reported === 'object' && { audiences: reported.fixed }),
    };
  }
}

/** What the API server's decoder and the TokenReview registry reject, with their texts. */
function reviewProblem(review: unknown): string | undefined {
  if (typeof review !== 'object' || review === null) return 'the request body must be a JSON object';
  const { apiVersion, kind, spec } = review as { apiVersion?: unknown; kind?: unknown; spec?: unknown };
  if (apiVersion !== 'authentication.k8s.io/v1')
    return `the API version in the data (${String(apiVersion)}) does not match the expected API version (authentication.k8s.io/v1)`;
  if (kind !== 'TokenReview')
    return `the kind in the data (${String(kind)}) does not match the expected kind (TokenReview)`;
  if (typeof spec !== 'object' || spec === null) return 'token is required for TokenReview in authentication';
  const { token, audiences } = spec as { token?: unknown; audiences?: unknown };
  if (typeof token !== 'string' || token === '') return 'token is required for TokenReview in authentication';
  if (audiences !== undefined && !(Array.isArray(audiences) && audiences.every((a) => typeof a === 'string')))
    return 'spec.audiences must be a list of strings';
  return undefined;
}

interface Answer {
  readonly statusCode: number;
  readonly body: string;
}

/** A metav1.Status, the body of every error answer of a real API server. */
function status(code: number, reason: string, message: string): Answer {
  const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  return { statusCode: code, body: JSON.stringify(body) };
}

/** Go's %q of a []string: ["a" "b"]. */
const goList = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
