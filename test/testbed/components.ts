// Command lines of the control plane's components. Everything binds to 127.0.0.1 on ports the
// harness chose; nothing reads files outside the run's own folder.

/** Label that marks the fake nodes kwok manages (and nothing else). */
export const KWOK_NODE_LABEL = { key: 'dilu.dev/testbed-node', value: 'kwok' } as const;

/** Service CIDR of the test bed; the first address is the in-cluster `kubernetes` Service. */
export const SERVICE_CIDR = '10.96.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

export interface RunFiles {
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly serviceAccountPublicKey: string;
  readonly serviceAccountPrivateKey: string;
  readonly tokenFile: string;
}

export function kineArgs(port: number): string[] {
  return [
    `--listen-address=127.0.0.1:${port}`,
    // The in-memory store: nothing on disk, and nothing to clean up but the process.
    '--endpoint=memory://',
    // "0" turns the metrics listener (default :8080 on every interface) off.
    '--metrics-bind-address=0',
  ];
}

export function apiserverArgs(opts: {
  port: number;
  kinePort: number;
  files: RunFiles;
  certDir: string;
}): string[] {
  const { files } = opts;
  return [
    `--etcd-servers=http://127.0.0.1:${opts.kinePort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${opts.port}`,
    `--cert-dir=${opts.certDir}`,
    `--tls-cert-file=${files.apiserverCert}`,
    `--tls-private-key-file=${files.apiserverKey}`,
    `--client-ca-file=${files.caCert}`,
    // Published to kube-system/extension-apiserver-authentication, where the controller-manager
    // and scheduler look for it when they authenticate requests (kubeadm sets the same).
    `--requestheader-client-ca-file=${files.caCert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--token-auth-file=${files.tokenFile}`,
    '--authorization-mode=Node,RBAC',
    '--anonymous-auth=false',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--service-account-issuer=https://127.0.0.1:${opts.port}`,
    `--service-account-key-file=${files.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${files.serviceAccountPrivateKey}`,
    '--allow-privileged=true',
    '--profiling=false',
    // The "kubernetes" Service would get 127.0.0.1 as its endpoint, which Endpoints validation
    // rejects (loopback); nothing in the tests reaches the API server through that Service.
    '--endpoint-reconciler-type=none',
  ];
}

export function controllerManagerArgs(opts: {
  port: number;
  kubeconfig: string;
  files: RunFiles;
  certDir: string;
  servingCert: string;
  servingKey: string;
}): string[] {
  return [
    `--kubeconfig=${opts.kubeconfig}`,
    `--authentication-kubeconfig=${opts.kubeconfig}`,
    `--authorization-kubeconfig=${opts.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${opts.port}`,
    `--cert-dir=${opts.certDir}`,
    `--tls-cert-file=${opts.servingCert}`,
    `--tls-private-key-file=${opts.servingKey}`,
    '--leader-elect=false',
    // Each controller acts under its own service account, as in kubeadm clusters, so RBAC
    // gaps show up here as they would there.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${opts.files.serviceAccountPrivateKey}`,
    `--root-ca-file=${opts.files.caCert}`,
    `--cluster-signing-cert-file=${opts.files.caCert}`,
    `--cluster-signing-key-file=${opts.files.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--profiling=false',
  ];
}

export function schedulerArgs(opts: {
  port: number;
  kubeconfig: string;
  certDir: string;
  servingCert: string;
  servingKey: string;
}): string[] {
  return [
    `--kubeconfig=${opts.kubeconfig}`,
    `--authentication-kubeconfig=${opts.kubeconfig}`,
    `--authorization-kubeconfig=${opts.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${opts.port}`,
    `--cert-dir=${opts.certDir}`,
    `--tls-cert-file=${opts.servingCert}`,
    `--tls-private-key-file=${opts.servingKey}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}

export function kwokArgs(opts: { port: number; kubeconfig: string; stagesFile: string }): string[] {
  return [
    `--kubeconfig=${opts.kubeconfig}`,
    `--config=${opts.stagesFile}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL.key}=${KWOK_NODE_LABEL.value}`,
    '--node-ip=127.0.0.1',
    `--node-port=${opts.port}`,
    `--server-address=127.0.0.1:${opts.port}`,
    '--node-lease-duration-seconds=40',
  ];
}

/** A kubeconfig (JSON is valid YAML) for one user authenticating with a bearer token. */
export function tokenKubeconfig(opts: {
  server: string;
  caPem: string;
  user: string;
  token: string;
}): string {
  const ca = Buffer.from(opts.caPem).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'testbed', cluster: { server: opts.server, 'certificate-authority-data': ca } },
      ],
      users: [{ name: opts.user, user: { token: opts.token } }],
      contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: opts.user } }],
      'current-context': 'testbed',
    },
    null,
    2,
  );
}
