import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import type { Measure } from './measurement.js';

const resultSchema = z.union([
  z.strictObject({
    type: z.literal('result'),
    latencyMs: z.number().positive(),
    throughputRps: z.number().positive(),
    memoryMiB: z.number().positive().optional(),
  }),
  z.strictObject({ type: z.literal('result'), error: z.string() }),
]);

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface JsonlChannel {
  readonly measure: Measure;
  send(message: unknown): void;
  close(): void;
}

/**
 * The search side of docs/contracts/profile-search-protocol.md: each probe writes a `measure`
 * line and waits for the harness's `result` line. A harness that cannot run a point answers
 * with `error`, which counts as not runnable.
 */
export function createJsonlChannel(input: Readable, output: Writable): JsonlChannel {
  const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const send = (message: unknown): void => {
    output.write(`${JSON.stringify(message)}\n`);
  };
  const measure: Measure = async (batch, smPercent) => {
    send({ type: 'measure', batch, smPercent });
    const next = await lines.next();
    if (next.done === true) throw new ProtocolError('input ended before a result line');
    let raw: unknown;
    try {
      raw = JSON.parse(next.value);
    } catch {
      throw new ProtocolError(`result line is not JSON: ${next.value.slice(0, 200)}`);
    }
    const parsed = resultSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      throw new ProtocolError(
        `bad result line${field ? ` (field ${field})` : ''}: ${issue?.message ?? 'invalid'}; ` +
          `expected {"type":"result","latencyMs":>0,"throughputRps":>0,"memoryMiB"?:>0} or {"type":"result","error":"…"}`,
      );
    }
    if ('error' in parsed.data) return undefined;
    const { latencyMs, throughputRps, memoryMiB } = parsed.data;
    return memoryMiB === undefined
      ? { latencyMs, throughputRps }
      : { latencyMs, throughputRps, memoryMiB };
  };
  return { measure, send, close: () => void lines.return?.() };
}
