import { describe, expect, it } from '@jest/globals';
import {
  apiserverArgs,
  controllerManagerArgs,
  kineArgs,
  KWOK_NODE_LABEL,
  kwokArgs,
  schedulerArgs,
  tokenKubeconfig,
  type RunFiles,
} from './components.js';

const files: RunFiles = {
  caCert: '/run/ca.crt',
  caKey: '/run/ca.key',
  apiserverCert: '/run/apiserver.crt',
  apiserverKey: '/run/apiserver.key',
  serviceAccountPublicKey: '/run/sa.pub',
  serviceAccountPrivateKey: '/run/sa.key',
  tokenFile: '/run/tokens.csv',
};

const all = [
  kineArgs(2379),
  apiserverArgs({ port: 6443, kinePort: 2379, files, certDir: '/run/c' }),
  controllerManagerArgs({
    port: 10257,
    kubeconfig: '/run/kcm',
    files,
    certDir: '/run/k',
    servingCert: '/run/s.crt',
    servingKey: '/run/s.key',
  }),
  schedulerArgs({
    port: 10259,
    kubeconfig: '/run/s',
    certDir: '/run/s',
    servingCert: '/run/s.crt',
    servingKey: '/run/s.key',
  }),
  kwokArgs({ port: 10247, kubeconfig: '/run/kwok', stagesFile: '/bin/stages.yaml' }),
];

describe('component command lines', () => {
  it('bind every listener to 127.0.0.1', () => {
    const addressFlags = all
      .flat()
      .filter(a => /^--(listen-address|bind-address|server-address|advertise-address)=/.test(a));
    expect(addressFlags.length).toBeGreaterThanOrEqual(5);
    for (const flag of addressFlags) expect(flag).toMatch(/=127\.0\.0\.1(:\d+)?$/);
  });

  it('turn off kine metrics, which would listen on every interface', () => {
    expect(kineArgs(1)).toContain('--metrics-bind-address=0');
  });

  it('run the API server with token auth, RBAC and service-account keys', () => {
    const args = apiserverArgs({ port: 6443, kinePort: 2379, files, certDir: '/run/c' });
    expect(args).toEqual(
      expect.arrayContaining([
        '--etcd-servers=http://127.0.0.1:2379',
        '--token-auth-file=/run/tokens.csv',
        '--authorization-mode=Node,RBAC',
        '--anonymous-auth=false',
        '--service-account-issuer=https://127.0.0.1:6443',
        '--service-account-key-file=/run/sa.pub',
        '--service-account-signing-key-file=/run/sa.key',
        '--tls-cert-file=/run/apiserver.crt',
      ]),
    );
  });

  it('run controllers and scheduler without leader election', () => {
    expect(all[2]).toContain('--leader-elect=false');
    expect(all[3]).toContain('--leader-elect=false');
  });

  it('let kwok manage only the labelled nodes', () => {
    expect(all[4]).toContain('--manage-all-nodes=false');
    expect(all[4]).toContain(
      `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL.key}=${KWOK_NODE_LABEL.value}`,
    );
  });
});

describe('tokenKubeconfig', () => {
  it('carries the server, the CA and the bearer token', () => {
    const kc = JSON.parse(
      tokenKubeconfig({ server: 'https://127.0.0.1:1', caPem: 'PEM', user: 'u', token: 't' }),
    ) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { token: string } }[];
    };
    expect(kc.clusters[0]?.cluster.server).toBe('https://127.0.0.1:1');
    expect(
      Buffer.from(kc.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(),
    ).toBe('PEM');
    expect(kc.users[0]?.user.token).toBe('t');
  });
});
