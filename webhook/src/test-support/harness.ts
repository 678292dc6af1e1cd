import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileRecommendation } from '@dilu/autoscaler';
import { loadProfile } from '@dilu/autoscaler';
import type { RunningServer } from '../admission/https-server.js';
import type { WebhookConfig } from '../config.js';
import { loadConfig } from '../config.js';
import { createCertificateAuthority, createServingCertificate } from '../certs/generate.js';
import type { SizeInstance } from '../decision/sizing.js';
import type { InstanceDecisionStore } from '../instance-decisions/instance-decision.js';
import { createInstanceDecisionStore } from '../instance-decisions/instance-decision.js';
import { silentLogger } from '../logger.js';
import type { WebhookMetrics } from '../metrics.js';
import { createPlacementClient } from '../placement/placement-client.js';
import type { ProfileStore } from '../profiles/profile-store.js';
import { createProfileStore } from '../profiles/profile-store.js';
import { startWebhook } from '../serve.js';
import type { PlacementDouble } from './placement-double.js';
import { startPlacementDouble } from './placement-double.js';

/** The Dilu authors' A100 measurements shipped with @dilu/autoscaler. */
export const A100_PROFILES_DIR = fileURLToPath(
  new URL('../../../autoscaler/data/profiles/dilu-a100/', import.meta.url),
);

export interface TestCerts {
  readonly dir: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A CA and a serving certificate for 127.0.0.1 / localhost, written to a temp folder. */
export function writeTestCerts(dir: string, commonName = 'test CA'): TestCerts {
  const ca = createCertificateAuthority({ commonName, validDays: 2 });
  const serving = createServingCertificate({
    ca,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validDays: 1,
  });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, serving.certPem);
  writeFileSync(keyFile, serving.keyPem);
  return { dir, caPem: ca.certPem, certFile, keyFile };
}

export interface Harness {
  /** POST target: https://127.0.0.1:<port>/mutate */
  readonly url: string;
  readonly base: string;
  readonly certs: TestCerts;
  readonly config: WebhookConfig;
  readonly placement: PlacementDouble;
  readonly profiles: ProfileStore;
  readonly decisions: InstanceDecisionStore;
  readonly metrics: WebhookMetrics;
  readonly server: RunningServer;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly config?: Record<string, unknown>;
  readonly gpus?: { node: string; index: number; memUnits: number }[];
  readonly sizing?: SizeInstance;
  /** Use this placement service (left running on close) instead of starting a double. */
  readonly placementUrl?: string;
  /** Whether the placement double holds what it hands out. @default true */
  readonly holdCapacity?: boolean;
  /** Recommendations to attach to the resnet profile. */
  readonly recommendations?: ProfileRecommendation[];
}

/**
 * The webhook on real HTTPS at 127.0.0.1 (port 0) with a placement double on real HTTP, the
 * ResNet152 A100 profile as FunctionProfile "resnet" in namespace "fns" and BERT-base as "bert"
 * in "openfaas-fn".
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'dilu-webhook-'));
  const certs = writeTestCerts(dir);
  const external = options.placementUrl;
  const placement = await startPlacementDouble({
    gpus: options.gpus ?? [
      { node: 'gpu-node-a', index: 0, memUnits: 160 },
      { node: 'gpu-node-a', index: 1, memUnits: 160 },
      { node: 'gpu-node-b', index: 0, memUnits: 160 },
    ],
    holdCapacity: options.holdCapacity ?? true,
  });
  const config = loadConfig(
    {
      port: 0,
      host: '127.0.0.1',
      tlsCert: certs.certFile,
      tlsKey: certs.keyFile,
      placementUrl: external ?? placement.url,
      logLevel: 'silent',
      ...options.config,
    },
    {},
  );
  const profiles = createProfileStore();
  const resnet = loadProfile(join(A100_PROFILES_DIR, 'bs_sm_resnet152.csv'));
  const bert = loadProfile(join(A100_PROFILES_DIR, 'bs_sm_bert_base.csv'));
  profiles.set(
    'fns',
    { ...resnet, name: 'resnet', memoryMiB: 3300 },
    options.recommendations ?? [],
  );
  profiles.set('openfaas-fn', { ...bert, name: 'bert', memoryMiB: 2100 }, []);
  profiles.markReady();
  const decisions = createInstanceDecisionStore();
  decisions.markReady();
  const placementClient = createPlacementClient({
    baseUrl: external ?? placement.url,
    timeoutMs: config.placementTimeoutMs,
  });
  const server = await startWebhook(
    config,
    {
      profiles,
      decisions,
      placement: placementClient,
      ...(options.sizing ? { sizing: options.sizing } : {}),
    },
    silentLogger(),
  );
  const base = `https://127.0.0.1:${server.port}`;
  return {
    url: `${base}/mutate`,
    base,
    certs,
    config,
    placement,
    profiles,
    decisions,
    metrics: server.metrics,
    server,
    async close() {
      await server.close();
      await placementClient.close();
      await placement.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
