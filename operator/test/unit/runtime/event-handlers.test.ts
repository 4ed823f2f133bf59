import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { enqueueMapped, enqueueObject, enqueueOwner } from '../../../src/runtime/event-handlers.js';

function sink() {
  const keys: string[] = [];
  return { keys, add: (key: string) => keys.push(key) > 0 };
}

const cluster = (generation: number, status = {}): KubernetesObject & { status: object } => ({
  apiVersion: 'quorumstore.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'c', namespace: 'ns', generation },
  status,
});

const statefulSet = (owner: string, replicas: number): KubernetesObject & { status: object } => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: {
    name: `${owner}-nodes`,
    namespace: 'ns',
    ownerReferences: [
      {
        apiVersion: 'quorumstore.dev/v1alpha1',
        kind: 'Cluster',
        name: owner,
        uid: 'u',
        controller: true,
      },
    ],
  },
  status: { readyReplicas: replicas },
});

describe('enqueueObject', () => {
  it('enqueues adds, deletes and spec updates, but not status-only updates', () => {
    const queue = sink();
    const handle = enqueueObject(queue);
    handle({ type: 'add', object: cluster(1) });
    handle({ type: 'update', object: cluster(1, { ready: true }), previous: cluster(1) });
    handle({ type: 'update', object: cluster(2), previous: cluster(1) });
    handle({ type: 'delete', object: cluster(2) });
    expect(queue.keys).toEqual(['ns/c', 'ns/c', 'ns/c']);
  });
});

describe('enqueueOwner', () => {
  it('enqueues the owner on every child change, status included (drift, rollout progress)', () => {
    const queue = sink();
    const handle = enqueueOwner(queue, { group: 'quorumstore.dev', kind: 'Cluster' });
    handle({ type: 'add', object: statefulSet('c', 0) });
    handle({ type: 'update', object: statefulSet('c', 1), previous: statefulSet('c', 0) });
    handle({ type: 'delete', object: statefulSet('c', 1) });
    handle({ type: 'add', object: { metadata: { name: 'orphan', namespace: 'ns' } } });
    expect(queue.keys).toEqual(['ns/c', 'ns/c', 'ns/c']);
  });

  it('enqueues both owners when a child changes hands', () => {
    const queue = sink();
    const handle = enqueueOwner(queue, { group: 'quorumstore.dev', kind: 'Cluster' });
    handle({ type: 'update', object: statefulSet('new', 1), previous: statefulSet('old', 1) });
    expect(queue.keys.sort()).toEqual(['ns/new', 'ns/old']);
  });
});

describe('enqueueMapped', () => {
  it('enqueues whatever keys the mapping returns, once each', () => {
    const queue = sink();
    const handle = enqueueMapped(queue, (object: KubernetesObject) => [
      `${object.metadata?.namespace}/${object.metadata?.labels?.cluster}`,
    ]);
    const labelled = (cluster: string): KubernetesObject => ({
      metadata: { name: 'x', namespace: 'ns', labels: { cluster } },
    });
    handle({ type: 'update', object: labelled('a'), previous: labelled('a') });
    expect(queue.keys).toEqual(['ns/a']);
  });
});
