import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { createJsonlChannel, ProtocolError } from './jsonl-measure.js';

function pair() {
  const input = new PassThrough();
  const output = new PassThrough();
  const sent: unknown[] = [];
  output.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) sent.push(JSON.parse(line));
  });
  return { input, output, sent };
}

describe('createJsonlChannel', () => {
  it('asks for a measurement and parses the result', async () => {
    const { input, output, sent } = pair();
    const ch = createJsonlChannel(input, output);
    const pending = ch.measure(4, 30);
    input.write('{"type":"result","latencyMs":12.5,"throughputRps":320,"memoryMiB":2048}\n');
    await expect(pending).resolves.toStrictEqual({
      latencyMs: 12.5,
      throughputRps: 320,
      memoryMiB: 2048,
    });
    expect(sent).toEqual([{ type: 'measure', batch: 4, smPercent: 30 }]);
    ch.close();
  });

  it('treats an error result as not runnable', async () => {
    const { input, output } = pair();
    const ch = createJsonlChannel(input, output);
    const pending = ch.measure(64, 10);
    input.write('{"type":"result","error":"CUDA out of memory"}\n');
    await expect(pending).resolves.toBeUndefined();
    ch.close();
  });

  it.each([
    ['not json\n', /not JSON/],
    ['{"type":"result","latencyMs":-1,"throughputRps":3}\n', /field latencyMs/],
    ['{"type":"measure"}\n', /bad result line/],
  ])('rejects %j with a protocol error', async (line, msg) => {
    const { input, output } = pair();
    const ch = createJsonlChannel(input, output);
    const pending = ch.measure(1, 10);
    input.write(line);
    await expect(pending).rejects.toThrow(msg);
    ch.close();
  });

  it('fails clearly when the harness closes its output', async () => {
    const { input, output } = pair();
    const ch = createJsonlChannel(input, output);
    const pending = ch.measure(1, 10);
    input.end();
    await expect(pending).rejects.toBeInstanceOf(ProtocolError);
  });
});
