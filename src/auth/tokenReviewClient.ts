/**
 * A minimal Kubernetes client for one call: create a TokenReview. It does what client-go does for the
 * reference server's `TokenReviews().Create(ctx, ...)`: the kubeconfig's TLS and credentials, a keep-alive
 * connection pool, client-side throttling by --kubeconfig-qps/--kubeconfig-burst, and Go-style error texts
 * (`Post "<url>": <cause>`). It always speaks JSON: the reference defaults --kube-api-content-type to
 * protobuf, which every API server also serves as JSON, and a protobuf codec for one small object is not
 * worth carrying. Unlike client-go (no timeout by default) each review has a deadline, so an API server
 * that hangs cannot hold agent connections open forever.
 */
import * as http from 'http';
import * as https from 'https';
import { createSecureContext } from 'tls';
import type { Logger } from '../observability/logger';
import { systemAuthClock, type AuthClock } from './clock';
import { KubeconfigError, TokenReviewError } from './errors';
import { createAuthorizationSource } from './kubeCredentials';
import { messageOf, type KubeClientConfig } from './kubeconfig';
import { createRateLimiter } from './rateLimiter';
import { statusErrorMessage } from './statusError';

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
/** Covers the throttle wait and the round trip; an agent's gRPC dial gives up well before a minute. */
export const TOKEN_REVIEW_TIMEOUT_MS = 10_000;
/** A TokenReview answer is a few hundred bytes; anything near this is not one and is not buffered. */
export const MAX_RESPONSE_BYTES = 1 << 20;
/** client-go logs throttling waits longer than this (longThrottleLatency) at V(3). */
const LONG_THROTTLE_MS = 50;

const JSON_TYPE = 'application/json';
/** Values of --kube-api-content-type we accept; both are answered by sending JSON (see above). */
export const ACCEPTED_CONTENT_TYPES: readonly string[] = [
  '',
  JSON_TYPE,
  'application/vnd.kubernetes.protobuf',
];

export interface TokenReviewUser {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
}

/** authentication.k8s.io/v1 TokenReviewStatus. */
export interface TokenReviewStatus {
  readonly authenticated?: boolean;
  readonly user?: TokenReviewUser;
  readonly audiences?: readonly string[];
  readonly error?: string;
}

export interface TokenReviewClient {
  /** The server the reviews go to, for log lines. */
  readonly url: string;
  review(
    token: string,
    audiences: readonly string[],
    options?: { signal?: AbortSignal },
  ): Promise<TokenReviewStatus>;
  /** Fails pending reviews with reason 'closed' and drops pooled connections. Safe to call more than once. */
  close(): void;
}

export interface TokenReviewClientOptions {
  readonly config: KubeClientConfig;
  /** --kubeconfig-qps: 0 means client-go's 5, negative means unlimited. */
  readonly qps: number;
  /** --kubeconfig-burst: 0 means client-go's 10. */
  readonly burst: number;
  /** --kube-api-content-type; see ACCEPTED_CONTENT_TYPES. */
  readonly contentType?: string;
  readonly timeoutMs?: number;
  /** Drives throttling and token-file refresh; socket timeouts always run on real time. */
  readonly clock?: AuthClock;
  readonly logger?: Logger;
  readonly userAgent?: string;
}

export function createTokenReviewClient(options: TokenReviewClientOptions): TokenReviewClient {
  const { config, logger } = options;
  const clock = options.clock ?? systemAuthClock;
  const timeoutMs = options.timeoutMs ?? TOKEN_REVIEW_TIMEOUT_MS;
  const contentType = options.contentType ?? '';
  if (!ACCEPTED_CONTENT_TYPES.includes(contentType)) {
    throw new TokenReviewError(
      'invalid-options',
      `--kube-api-content-type ${JSON.stringify(contentType)} is not supported; use ${JSON_TYPE}`,
    );
  }
  if (contentType !== JSON_TYPE && contentType !== '') {
    logger?.debug(1, 'Kubernetes API requests are sent as JSON', { requestedContentType: contentType });
  }
  const limiter = createRateLimiter(options.qps, options.burst, clock);
  const authorization = createAuthorizationSource(config.credentials, clock, (m) => logger?.warn(m));
  const agent = makeAgent(config);
  const url = new URL(config.server.pathname.replace(/\/+$/, '') + TOKEN_REVIEW_PATH, config.server);
  const userAgent =
    options.userAgent ?? `konnectivity-server (${process.platform}/${process.arch}) konnectivity-ts`;
  const inFlight = new Set<http.ClientRequest>();
  let closed = false;

  const review = async (
    token: string,
    audiences: readonly string[],
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<TokenReviewStatus> => {
    if (closed) throw new TokenReviewError('closed', 'the TokenReview client is closed');
    const deadline = clock.now() + timeoutMs;
    const waited = await limiter.wait({ deadline, signal });
    if (waited > LONG_THROTTLE_MS) {
      logger?.debug(
        3,
        `Waited for ${waited}ms due to client-side throttling, not priority and fairness, request: POST:${url.href}`,
      );
    }
    const auth = await authorization.header();
    const body = JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences },
    });
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': JSON_TYPE,
      Accept: JSON_TYPE,
      'Content-Length': Buffer.byteLength(body),
      'User-Agent': userAgent,
      ...(auth && { Authorization: auth }),
    };
    const remaining = Math.max(1, Math.min(timeoutMs, deadline - clock.now()));
    const response = await post({ agent, url, headers, body, timeoutMs: remaining, signal, inFlight });
    return decodeResponse(response, url.href);
  };

  return {
    url: url.href,
    review,
    close: () => {
      if (closed) return;
      closed = true;
      limiter.close();
      for (const req of inFlight)
        req.destroy(new TokenReviewError('closed', 'the TokenReview client is closed'));
      agent.destroy();
    },
  };
}

function makeAgent(config: KubeClientConfig): http.Agent {
  if (config.server.protocol === 'http:') return new http.Agent({ keepAlive: true });
  const { ca, clientCert, clientKey, insecureSkipTlsVerify, serverName } = config.tls;
  try {
    // Fail at start-up on a bad PEM instead of on the first agent's connection.
    createSecureContext({ ca, cert: clientCert, key: clientKey });
  } catch (err) {
    throw new KubeconfigError('invalid-value', `${config.source}: unusable TLS material: ${messageOf(err)}`, {
      cause: err,
    });
  }
  return new https.Agent({
    keepAlive: true,
    ca,
    cert: clientCert,
    key: clientKey,
    rejectUnauthorized: !insecureSkipTlsVerify,
    ...(serverName && { servername: serverName }),
  });
}

interface RawResponse {
  readonly statusCode: number;
  readonly body: string;
}

interface PostArgs {
  readonly agent: http.Agent;
  readonly url: URL;
  readonly headers: http.OutgoingHttpHeaders;
  readonly body: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly inFlight: Set<http.ClientRequest>;
}

function post(a: PostArgs): Promise<RawResponse> {
  const where = `Post ${JSON.stringify(a.url.href)}`;
  return new Promise<RawResponse>((resolve, reject) => {
    const request = a.url.protocol === 'http:' ? http.request : https.request;
    const req = request(a.url, { method: 'POST', agent: a.agent, headers: a.headers });
    a.inFlight.add(req);
    let settled = false;
    const finish = (err: TokenReviewError | undefined, res?: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      a.signal?.removeEventListener('abort', onAbort);
      a.inFlight.delete(req);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(res!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new TokenReviewError(
            'timeout',
            `${where}: context deadline exceeded (no answer within ${a.timeoutMs} ms)`,
          ),
        ),
      a.timeoutMs,
    );
    const onAbort = (): void =>
      finish(new TokenReviewError('aborted', `${where}: context canceled`, { cause: a.signal?.reason }));
    if (a.signal?.aborted) return onAbort();
    a.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('error', (err) => {
      const e =
        err instanceof TokenReviewError
          ? err
          : new TokenReviewError('unreachable', `${where}: ${err.message}`, { cause: err });
      finish(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          finish(
            new TokenReviewError(
              'invalid-response',
              `${where}: response body larger than ${MAX_RESPONSE_BYTES} bytes`,
            ),
          );
        } else chunks.push(chunk);
      });
      res.on('error', (err) =>
        finish(new TokenReviewError('unreachable', `${where}: ${err.message}`, { cause: err })),
      );
      res.on('end', () =>
        finish(undefined, { statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.end(a.body);
  });
}

function decodeResponse(res: RawResponse, url: string): TokenReviewStatus {
  if (res.statusCode < 200 || res.statusCode > 299) {
    throw new TokenReviewError('http-status', statusErrorMessage(res.statusCode, res.body), {
      statusCode: res.statusCode,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(res.body);
  } catch (err) {
    throw new TokenReviewError(
      'invalid-response',
      `Post ${JSON.stringify(url)}: response is not JSON: ${messageOf(err)}`,
      { cause: err },
    );
  }
  if (typeof doc !== 'object' || doc === null || (doc as { kind?: unknown }).kind !== 'TokenReview') {
    throw new TokenReviewError(
      'invalid-response',
      `Post ${JSON.stringify(url)}: response is not a TokenReview`,
    );
  }
  const status: unknown = (doc as { status?: unknown }).status;
  // Go decodes an absent status as the zero value: not authenticated.
  if (status === undefined || status === null) return {};
  if (typeof status !== 'object') {
    throw new TokenReviewError(
      'invalid-response',
      `Post ${JSON.stringify(url)}: TokenReview status is not an object`,
    );
  }
  return status;
}
