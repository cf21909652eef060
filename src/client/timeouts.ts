/**
 * Used when the caller of a dial gives no timeout. kube-apiserver bounds dials by its request context; 30 s
 * is the dial timeout of Go's default HTTP transport, which is what most of those requests ride on.
 */
export const DEFAULT_DIAL_TIMEOUT_MS = 30_000;
