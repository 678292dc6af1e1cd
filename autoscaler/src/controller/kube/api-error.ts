/** The HTTP status of a failed client-node call (ApiException.code), if it carried one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    const statusCode = (err as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === 'number') return statusCode;
  }
  return undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatusOf(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatusOf(err) === 409;

/** A short description of a client-node failure for logs (status and the Status message). */
export function describeApiError(err: unknown): string {
  const code = httpStatusOf(err);
  let message: string | undefined;
  const body = (err as { body?: unknown } | null)?.body;
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    const m = (parsed as { message?: unknown } | undefined)?.message;
    if (typeof m === 'string') message = m;
  } catch {
    // not a Status body
  }
  const base = message ?? (err instanceof Error ? err.message : String(err));
  return code === undefined ? base : `${code}: ${base}`;
}
