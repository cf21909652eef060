/**
 * The two ways kube-apiserver reaches the server (the reference's `--mode`): a gRPC Proxy stream
 * carrying packets, or an HTTP CONNECT tunnel carrying raw bytes. The flag, the frontend client, the
 * actors and the events all use these words.
 */
export const FRONTEND_MODES = ['grpc', 'http-connect'] as const;
export type FrontendMode = (typeof FRONTEND_MODES)[number];

export const isFrontendMode = (value: unknown): value is FrontendMode =>
  (FRONTEND_MODES as readonly unknown[]).includes(value);
