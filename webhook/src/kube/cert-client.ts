import type { KubeConfig } from '@kubernetes/client-node';
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  V1Secret,
} from '@kubernetes/client-node';
import type { CertKubeClient, WebhookTlsSecret } from '../certs/ensure-certs.js';

function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/** `CertKubeClient` over the API server with @kubernetes/client-node. */
export function createCertKubeClient(kc: KubeConfig): CertKubeClient {
  const core = kc.makeApiClient(CoreV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  return {
    async readSecret(namespace, name) {
      try {
        const secret = await core.readNamespacedSecret({ name, namespace });
        return Object.fromEntries(
          Object.entries(secret.data ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v, 'base64').toString('utf8'),
          ]),
        );
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async writeSecret(namespace, name, data: WebhookTlsSecret, exists) {
      const body = Object.assign(new V1Secret(), {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'dilu-webhook' } },
        data: Object.fromEntries(
          Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
      });
      if (exists) await core.replaceNamespacedSecret({ name, namespace, body });
      else await core.createNamespacedSecret({ namespace, body });
    },
    async countWebhooks(configName) {
      try {
        const config = await admission.readMutatingWebhookConfiguration({ name: configName });
        return config.webhooks?.length ?? 0;
      } catch (err) {
        if (isNotFound(err)) {
          throw new Error(
            `MutatingWebhookConfiguration "${configName}" not found; apply manifests/base/webhook first`,
            { cause: err },
          );
        }
        throw err;
      }
    },
    async patchCaBundle(configName, webhookCount, caBundleBase64) {
      if (webhookCount === 0) return;
      const body = Array.from({ length: webhookCount }, (_, i) => ({
        op: 'add',
        path: `/webhooks/${i}/clientConfig/caBundle`,
        value: caBundleBase64,
      }));
      await admission.patchMutatingWebhookConfiguration(
        { name: configName, body },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
    },
  };
}
