/**
 * Guards the test toolchain: Jest runs native ESM, so ESM-only packages such as
 * @kubernetes/client-node 2.x (which the operator builds on) import and work in tests.
 */
import { KubeConfig } from '@kubernetes/client-node';

it('imports the ESM-only Kubernetes client and parses a kubeconfig', () => {
  const kc = new KubeConfig();
  kc.loadFromString(
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443"}}]',
      'users: [{name: admin, user: {token: abc}}]',
      'contexts: [{name: ctx, context: {cluster: test, user: admin}}]',
      'current-context: ctx',
    ].join('\n'),
  );
  expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  expect(kc.getCurrentUser()?.name).toBe('admin');
});
