// Starts a real Kubernetes control plane on 127.0.0.1 for tests, and stops it:
//   kine (in-memory etcd API) -> kube-apiserver (token auth, RBAC, service-account keys, its
//   own serving certificate) -> kube-controller-manager + kube-scheduler (no leader election)
//   -> kwok, which keeps labelled fake nodes Ready and runs the pods bound to them.
// Every process is started and stopped by PID; the run's folder (keys, kubeconfigs, logs) is
// removed on stop, and on a failed start the failing component's log tail is in the error.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KWOK_STAGES_FILE } from './cache.js';
import {
  apiserverArgs,
  controllerManagerArgs,
  kineArgs,
  KUBERNETES_SERVICE_IP,
  KWOK_NODE_LABEL,
  kwokArgs,
  schedulerArgs,
  tokenKubeconfig,
  type RunFiles,
} from './components.js';
import { tailOf } from './log-tail.js';
import { createCertificateAuthority, generateRsaKeyPair } from './pki.js';
import { freePort } from './ports.js';
import { onAbnormalExit, startProcess, type ManagedProcess } from './processes.js';
import { httpGet, httpOk, tcpAccepts, waitFor } from './readiness.js';

/** What a test needs to reach the control plane; serialisable, so Jest workers can share it. */
export interface TestbedConnection {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Bearer token of a cluster administrator (group system:masters). */
  readonly token: string;
  /** The CA that signed the API server's certificate. */
  readonly caPem: string;
  /** A kubeconfig file for the administrator, for tools that want one. */
  readonly kubeconfigPath: string;
  /** Label kwok selects its nodes by. */
  readonly nodeLabel: { readonly key: string; readonly value: string };
  /** Folder of this run (removed by stop()). */
  readonly runDir: string;
  /** PIDs of the components, by name. */
  readonly pids: Readonly<Record<string, number>>;
}

export interface ControlPlane {
  readonly connection: TestbedConnection;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly binDir: string;
  /** Progress lines (component started, ready). */
  readonly log?: (line: string) => void;
  /** Keep the run folder (logs) after stop, for debugging. */
  readonly keepRunDir?: boolean;
  readonly readyTimeoutMs?: number;
}

interface Tokens {
  admin: string;
  controllerManager: string;
  scheduler: string;
  kwok: string;
}

function token(): string {
  return randomBytes(24).toString('hex');
}

/** --token-auth-file lines: token,user,uid,"groups". */
function tokenFile(t: Tokens): string {
  return [
    `${t.admin},dilu-testbed-admin,dilu-testbed-admin,"system:masters"`,
    // Users with bootstrap RBAC roles of their own, as in a kubeadm cluster.
    `${t.controllerManager},system:kube-controller-manager,system:kube-controller-manager`,
    `${t.scheduler},system:kube-scheduler,system:kube-scheduler`,
    // kwok stands in for every kubelet; it gets administrator rights rather than node identities.
    `${t.kwok},dilu-testbed-kwok,dilu-testbed-kwok,"system:masters"`,
    '',
  ].join('\n');
}

function writeFile(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

const RUN_DIR_PREFIX = 'dilu-testbed-';
const OWNER_FILE = 'owner.pid';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes run folders left by test processes that were killed outright (SIGKILL, OOM): their
 * components died with them (see processes.ts), but nothing could remove the folder.
 */
export function removeOrphanedRunDirs(parent = tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = join(parent, name);
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // Not ours, or still being created.
    }
    if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}

export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  for (const dir of removeOrphanedRunDirs()) log(`removed ${dir}, left by a killed run`);
  const runDir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  writeFileSync(join(runDir, OWNER_FILE), String(process.pid));
  const logDir = join(runDir, 'logs');
  const pkiDir = join(runDir, 'pki');
  mkdirSync(logDir);
  mkdirSync(pkiDir);
  const started: ManagedProcess[] = [];
  const removeRunDir = (): void => {
    if (opts.keepRunDir !== true) rmSync(runDir, { recursive: true, force: true });
  };
  // If the test process dies before stop(), the children are killed and this still runs.
  const forgetRunDir = onAbnormalExit(removeRunDir);

  const stop = async (): Promise<void> => {
    // Reverse order: clients before the API server, the API server before its store.
    for (const p of [...started].reverse()) await p.stop();
    forgetRunDir();
    removeRunDir();
  };

  const launch = (name: string, args: string[]): ManagedProcess => {
    const p = startProcess({
      name,
      command: join(opts.binDir, name),
      args,
      logFile: join(logDir, `${name}.log`),
      cwd: runDir,
    });
    started.push(p);
    log(`${name} started (pid ${p.pid})`);
    return p;
  };

  const ready = async (p: ManagedProcess, check: () => Promise<boolean>): Promise<void> => {
    const t0 = Date.now();
    await waitFor(p.name, check, {
      timeoutMs,
      abortIf: () => {
        const s = p.exitStatus();
        return s === undefined
          ? undefined
          : `exited (${String(s.code ?? s.signal)}) before it was ready`;
      },
    });
    log(`${p.name} ready in ${Date.now() - t0} ms`);
  };

  try {
    const ca = createCertificateAuthority();
    const apiserverPort = await freePort();
    const server = `https://127.0.0.1:${apiserverPort}`;
    const serving = ca.issueServing('kube-apiserver', [
      '127.0.0.1',
      'localhost',
      KUBERNETES_SERVICE_IP,
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ]);
    const sa = generateRsaKeyPair();
    const tokens: Tokens = {
      admin: token(),
      controllerManager: token(),
      scheduler: token(),
      kwok: token(),
    };
    const files: RunFiles = {
      caCert: writeFile(join(pkiDir, 'ca.crt'), ca.certPem),
      caKey: writeFile(join(pkiDir, 'ca.key'), ca.keyPem),
      apiserverCert: writeFile(join(pkiDir, 'apiserver.crt'), serving.certPem),
      apiserverKey: writeFile(join(pkiDir, 'apiserver.key'), serving.keyPem),
      serviceAccountPublicKey: writeFile(join(pkiDir, 'sa.pub'), sa.publicKeyPem),
      serviceAccountPrivateKey: writeFile(join(pkiDir, 'sa.key'), sa.privateKeyPem),
      tokenFile: writeFile(join(pkiDir, 'tokens.csv'), tokenFile(tokens)),
    };
    const kubeconfig = (user: string, t: string): string =>
      writeFile(
        join(runDir, `${user.replace(/[^a-z0-9-]/gi, '-')}.kubeconfig`),
        tokenKubeconfig({ server, caPem: ca.certPem, user, token: t }),
      );

    const kinePort = await freePort();
    const kine = launch('kine', kineArgs(kinePort));
    await ready(kine, () => tcpAccepts('127.0.0.1', kinePort));

    const apiserver = launch(
      'kube-apiserver',
      apiserverArgs({
        port: apiserverPort,
        kinePort,
        files,
        certDir: join(runDir, 'apiserver-certs'),
      }),
    );
    // /readyz passes only once every post-start hook has run, including the bootstrap RBAC
    // roles the other components rely on.
    await ready(apiserver, httpOk(`${server}/readyz`, { ca: ca.certPem, token: tokens.admin }));

    const componentServing = ca.issueServing('testbed-component', ['127.0.0.1', 'localhost']);
    const componentCert = writeFile(join(pkiDir, 'component.crt'), componentServing.certPem);
    const componentKey = writeFile(join(pkiDir, 'component.key'), componentServing.keyPem);

    const kcmPort = await freePort();
    const kcm = launch(
      'kube-controller-manager',
      controllerManagerArgs({
        port: kcmPort,
        kubeconfig: kubeconfig('system:kube-controller-manager', tokens.controllerManager),
        files,
        certDir: join(runDir, 'kcm-certs'),
        servingCert: componentCert,
        servingKey: componentKey,
      }),
    );
    const schedulerPort = await freePort();
    const scheduler = launch(
      'kube-scheduler',
      schedulerArgs({
        port: schedulerPort,
        kubeconfig: kubeconfig('system:kube-scheduler', tokens.scheduler),
        certDir: join(runDir, 'scheduler-certs'),
        servingCert: componentCert,
        servingKey: componentKey,
      }),
    );
    const kwokPort = await freePort();
    const kwok = launch(
      'kwok',
      kwokArgs({
        port: kwokPort,
        kubeconfig: kubeconfig('dilu-testbed-kwok', tokens.kwok),
        stagesFile: join(opts.binDir, KWOK_STAGES_FILE),
      }),
    );

    await Promise.all([
      // The controller-manager is healthy once it serves; it is working once its
      // service-account controller has given the default namespace its ServiceAccount.
      ready(kcm, async () => {
        await httpOk(`https://127.0.0.1:${kcmPort}/healthz`, { ca: ca.certPem })();
        const sa = await httpGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, {
          ca: ca.certPem,
          token: tokens.admin,
        });
        return sa.status === 200;
      }),
      ready(scheduler, httpOk(`https://127.0.0.1:${schedulerPort}/readyz`, { ca: ca.certPem })),
      ready(kwok, httpOk(`http://127.0.0.1:${kwokPort}/healthz`)),
    ]);

    const adminKubeconfig = kubeconfig('dilu-testbed-admin', tokens.admin);
    return {
      connection: {
        server,
        token: tokens.admin,
        caPem: ca.certPem,
        kubeconfigPath: adminKubeconfig,
        nodeLabel: { key: KWOK_NODE_LABEL.key, value: KWOK_NODE_LABEL.value },
        runDir,
        pids: Object.fromEntries(started.map(p => [p.name, p.pid])),
      },
      stop,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const tails = started
      .map(p => `--- ${p.name} (pid ${p.pid}) log tail:\n${tailOf(p.logFile, 15)}`)
      .join('\n');
    await stop();
    throw new Error(`the test bed did not start: ${message}\n${tails}`, { cause: err });
  }
}

/** Reads a connection written by writeConnection (e.g. by Jest's global setup). */
export function readConnection(file: string): TestbedConnection {
  return JSON.parse(readFileSync(file, 'utf8')) as TestbedConnection;
}

export function writeConnection(file: string, connection: TestbedConnection): void {
  writeFile(file, JSON.stringify(connection, null, 2));
}
