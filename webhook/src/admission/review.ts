import type { Operation } from 'fast-json-patch';
import { z } from 'zod';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const groupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });

/** The part of `admission.k8s.io/v1` AdmissionRequest this webhook reads. */
const requestSchema = z.looseObject({
  uid: z.string().min(1, 'must be a non-empty string'),
  kind: groupVersionKind,
  operation: z.string(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  object: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});

export type AdmissionRequest = z.infer<typeof requestSchema>;

/** Status of a refused admission; `message` is what the user sees after "denied the request:". */
export interface AdmissionStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
  readonly status?: AdmissionStatus;
  readonly warnings?: readonly string[];
}

export type ParsedReview =
  | { readonly ok: true; readonly request: AdmissionRequest }
  /** Nothing to answer in an AdmissionReview: the HTTP status and a message. */
  | { readonly ok: false; readonly httpStatus: number; readonly message: string }
  /** The request has a uid, so the refusal can be a proper AdmissionReview. */
  | {
      readonly ok: false;
      readonly httpStatus: 200;
      readonly uid: string;
      readonly message: string;
    };

/**
 * Checks the envelope: an `admission.k8s.io/v1` AdmissionReview with a request that has a uid.
 * A body without a usable uid cannot be answered as a review and gets HTTP 400; a request with
 * a uid but a broken shape is denied in a review, so the API server shows the reason.
 */
export function parseAdmissionReview(body: unknown): ParsedReview {
  const envelope = checkEnvelope(body);
  if (typeof envelope === 'string') return { ok: false, httpStatus: 400, message: envelope };
  const { request, uid } = envelope;
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['request', ...(issue?.path ?? []).map(String)].join('.');
    return { ok: false, httpStatus: 200, uid, message: `${path}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, request: parsed.data };
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** The checks that must pass before there is a uid to answer to; a string is the problem. */
function checkEnvelope(body: unknown): string | { request: object; uid: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'body must be a JSON object (an AdmissionReview)';
  }
  const { apiVersion, kind, request } = body as Record<string, unknown>;
  if (kind !== 'AdmissionReview') return `kind: must be "AdmissionReview", got ${show(kind)}`;
  if (apiVersion !== ADMISSION_API_VERSION) {
    return `apiVersion: must be "${ADMISSION_API_VERSION}" (set admissionReviewVersions: ["v1"]), got ${show(apiVersion)}`;
  }
  if (typeof request !== 'object' || request === null) {
    return 'request: missing; an AdmissionReview must carry a request';
  }
  const uid = (request as { uid?: unknown }).uid;
  if (typeof uid !== 'string' || uid.length === 0) return 'request.uid: must be a non-empty string';
  return { request, uid };
}

export function reviewOf(response: AdmissionResponse): unknown {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

export function allow(uid: string, warnings?: readonly string[]): AdmissionResponse {
  return warnings && warnings.length > 0
    ? { uid, allowed: true, warnings }
    : { uid, allowed: true };
}

export function allowWithPatch(
  uid: string,
  patch: readonly Operation[],
  warnings?: readonly string[],
): AdmissionResponse {
  return {
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    ...(warnings && warnings.length > 0 ? { warnings } : {}),
  };
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  403: 'Forbidden',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function deny(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason: REASONS[code] ?? 'Forbidden', message } };
}
