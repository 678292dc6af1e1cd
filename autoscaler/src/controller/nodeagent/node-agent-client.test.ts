import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ContractNodeAgent } from '../testing/contract-node-agent.js';
import { startContractNodeAgent } from '../testing/contract-node-agent.js';
import type { NodeAgentClient } from './node-agent-client.js';
import { allocationSchema, createNodeAgentClient, NodeAgentError } from './node-agent-client.js';

const allocation = (id: string, quota: number, pod: string) => ({
  allocationId: id,
  gpuIndex: 0,
  gpuUuid: 'GPU-0',
  smRequest: 20,
  smLimit: 60,
  quota,
  memoryMiB: 4096,
  pod: { namespace: 'ns', name: pod, uid: `uid-${pod}`, container: 'fn' },
});

describe('createNodeAgentClient against a node-agent contract server', () => {
  let agent: ContractNodeAgent;
  let client: NodeAgentClient;
  const clientWith = (token: string | undefined): NodeAgentClient =>
    createNodeAgentClient({ baseUrl: () => agent.url, token: () => token, timeoutMs: 1000 });

  beforeAll(async () => {
    agent = await startContractNodeAgent({
      host: '127.0.0.1',
      port: 0,
      allowedTokens: ['good'],
      knownTokens: ['someone-else'],
    });
    agent.put(allocation('a-0000000000000001', 20, 'p1'));
    agent.put(allocation('a-0000000000000002', 50, 'p2'));
    client = clientWith('good');
  });
  afterAll(async () => {
    await agent.close();
  });

  it('lists allocations with their pods', async () => {
    const list = await client.allocations('node-1');
    expect(list.map(a => [a.allocationId, a.quota, a.pod?.name])).toEqual([
      ['a-0000000000000001', 20, 'p1'],
      ['a-0000000000000002', 50, 'p2'],
    ]);
  });
  it('sets a quota and returns the allocation the agent now holds', async () => {
    const a = await client.setQuota('node-1', 'a-0000000000000001', 40);
    expect(a).toMatchObject({ quota: 40, generation: 2 });
    expect(agent.writes().at(-1)).toMatchObject({ from: 20, to: 40, status: 200, pod: 'p1' });
  });
  it('surfaces 409 when the GPU would pass 100 and 400 naming the field', async () => {
    const over = client.setQuota('node-1', 'a-0000000000000001', 60);
    await expect(over).rejects.toMatchObject({ status: 409 });
    const outside = await client
      .setQuota('node-1', 'a-0000000000000001', 61)
      .catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(NodeAgentError);
    expect(outside).toMatchObject({ status: 400, field: 'quota' });
    await expect(client.setQuota('node-1', 'a-00000000000000ff', 30)).rejects.toMatchObject({
      status: 404,
    });
  });
  it('sends the bearer token: none → 401, not allowed → 403', async () => {
    await expect(clientWith(undefined).allocations('n')).rejects.toMatchObject({ status: 401 });
    await expect(clientWith('someone-else').allocations('n')).rejects.toMatchObject({
      status: 403,
    });
  });
  it('says which node when the agent cannot be reached or has no address', async () => {
    const nowhere = createNodeAgentClient({
      baseUrl: node => (node === 'known' ? 'http://127.0.0.1:1' : undefined),
      token: () => 'good',
      timeoutMs: 500,
    });
    await expect(nowhere.allocations('unknown')).rejects.toThrow(
      'node agent on unknown: no address known for the node',
    );
    await expect(nowhere.allocations('known')).rejects.toMatchObject({ status: 0 });
  });
});

describe('allocationSchema', () => {
  it('reads an allocation the agent has not matched to its pod (smLimit null) as linked to no pod', () => {
    const unmatched = {
      ...allocation('a-0000000000000003', 20, 'p3'),
      generation: 1,
      smLimit: null,
    };
    expect(allocationSchema.parse(unmatched)).toMatchObject({
      allocationId: 'a-0000000000000003',
      smLimit: 20,
      quota: 20,
      pod: null,
    });
    const matched = { ...allocation('a-0000000000000004', 30, 'p4'), generation: 1 };
    expect(allocationSchema.parse(matched)).toMatchObject({ smLimit: 60, pod: { name: 'p4' } });
  });
});
