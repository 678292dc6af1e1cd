import { createHash } from 'node:crypto';
import { AuthenticationV1Api, V1TokenReview, V1TokenReviewSpec } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type TokenReviewResult =
  | { readonly authenticated: true; readonly username: string }
  | { readonly authenticated: false; readonly reason: string };

/** Decides who a bearer token belongs to. Production: the API server's TokenReview. */
export interface TokenReviewer {
  review(token: string): Promise<TokenReviewResult>;
}

/** TokenReview through the API server (RBAC: `create` on tokenreviews). */
export function createKubeTokenReviewer(
  kc: KubeConfig,
  audiences: readonly string[],
): TokenReviewer {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    async review(token) {
      const body = new V1TokenReview();
      body.apiVersion = 'authentication.k8s.io/v1';
      body.kind = 'TokenReview';
      body.spec = new V1TokenReviewSpec();
      body.spec.token = token;
      // The token must have been issued for this audience: a token meant for the node agent is
      // then useless against the API server, and the other way round.
      if (audiences.length > 0) body.spec.audiences = [...audiences];
      const res = await api.createTokenReview({ body });
      const s = res.status;
      if (s?.authenticated !== true || s.user?.username === undefined) {
        return { authenticated: false, reason: s?.error ?? 'token not valid' };
      }
      return { authenticated: true, username: s.user.username };
    },
  };
}

/**
 * Caches answers by the token's hash: valid tokens for `ttlMs`, rejected ones for a few
 * seconds, so a caller polling every second costs one TokenReview per TTL, not per request.
 */
export function createCachingReviewer(
  inner: TokenReviewer,
  ttlMs: number,
  now: () => number = Date.now,
  maxEntries = 1000,
): TokenReviewer {
  const cache = new Map<string, { until: number; result: TokenReviewResult }>();
  return {
    async review(token) {
      const key = createHash('sha256').update(token).digest('hex');
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > now()) return hit.result;
      const result = await inner.review(token);
      if (cache.size >= maxEntries) cache.clear();
      cache.set(key, {
        until: now() + (result.authenticated ? ttlMs : Math.min(ttlMs, 5000)),
        result,
      });
      return result;
    },
  };
}

/**
 * Express middleware: 401 without a valid bearer token, 403 for a valid one of a user not
 * allowed, 503 when the token cannot be reviewed (the API server is unreachable).
 */
export function bearerAuth(
  reviewer: TokenReviewer,
  allowedUsers: readonly string[],
): RequestHandler {
  const allowed = new Set(allowedUsers);
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (m?.[1] === undefined) {
      res
        .set('WWW-Authenticate', 'Bearer')
        .status(401)
        .json({ error: 'missing bearer token (Authorization: Bearer <service-account token>)' });
      return;
    }
    reviewer.review(m[1]).then(
      result => {
        if (!result.authenticated) {
          res
            .set('WWW-Authenticate', 'Bearer')
            .status(401)
            .json({ error: `token rejected: ${result.reason}` });
        } else if (!allowed.has(result.username)) {
          res.status(403).json({ error: `${result.username} may not use the node agent` });
        } else {
          res.locals.username = result.username;
          next();
        }
      },
      (err: unknown) => {
        res.status(503).json({ error: `cannot review the token: ${(err as Error).message}` });
      },
    );
  };
}
