/** One reason to deny a pod: the field at fault (a JSON-path-like string) and what is allowed. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export function fieldError(field: string, message: string): FieldError {
  return { field, message };
}

/** All errors in one line, so `kubectl` and ReplicaSet events show every problem at once. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map(e => `${e.field}: ${e.message}`).join('; ');
}

/** `metadata.annotations[dilu.dev/slo-ms]`: the form kubectl users recognise. */
export function annotationField(key: string): string {
  return `metadata.annotations[${key}]`;
}

export function labelField(key: string): string {
  return `metadata.labels[${key}]`;
}
