/**
 * One kind of object watched in every namespace the operator serves: a single cluster-wide
 * informer when it watches all namespaces, else one informer per namespace (RBAC for a
 * namespaced install grants no cluster-wide list). Looks like one cache to the reconcilers.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ObjectCache } from './controllers/object-cache.js';
import { Informer, type InformerEvent } from './runtime/informer.js';
import { objectKey } from './runtime/keys.js';

export interface InformerSetOptions<T extends k8s.KubernetesObject> {
  /** For logs, e.g. "statefulsets". */
  name: string;
  kubeConfig: k8s.KubeConfig;
  /** Namespaces to watch; empty = all. */
  namespaces: readonly string[];
  /** Watch path for one namespace, or for all when undefined. */
  path(namespace: string | undefined): string;
  /** Lists everything at `path(namespace)` (with the same label selector). */
  list(namespace: string | undefined): Promise<k8s.KubernetesListObject<T>>;
  labelSelector?: string;
  logger: Logger;
}

export class InformerSet<T extends k8s.KubernetesObject> implements ObjectCache<T> {
  readonly name: string;
  private readonly all: Informer<T> | undefined;
  private readonly byNamespace = new Map<string, Informer<T>>();

  constructor(options: InformerSetOptions<T>) {
    this.name = options.name;
    const make = (namespace: string | undefined) =>
      new Informer<T>({
        name: namespace === undefined ? options.name : `${options.name}@${namespace}`,
        kubeConfig: options.kubeConfig,
        path: options.path(namespace),
        list: () => options.list(namespace),
        labelSelector: options.labelSelector,
        logger: options.logger,
      });
    if (options.namespaces.length === 0) {
      this.all = make(undefined);
    } else {
      for (const namespace of new Set(options.namespaces)) {
        this.byNamespace.set(namespace, make(namespace));
      }
    }
  }

  private get informers(): Informer<T>[] {
    return this.all ? [this.all] : [...this.byNamespace.values()];
  }

  onEvent(handler: (event: InformerEvent<T>) => void): void {
    for (const informer of this.informers) informer.onEvent(handler);
  }

  start(): void {
    for (const informer of this.informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  hasSynced(): boolean {
    return this.informers.every((informer) => informer.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const synced = await Promise.all(
      this.informers.map((informer) => informer.waitForSync(signal)),
    );
    return synced.every(Boolean);
  }

  get(namespace: string, name: string): T | undefined {
    return (this.all ?? this.byNamespace.get(namespace))?.get(namespace, name);
  }

  list(namespace?: string): readonly T[] {
    if (namespace === undefined) return this.informers.flatMap((informer) => informer.list());
    return (this.all ?? this.byNamespace.get(namespace))?.list(namespace) ?? [];
  }

  /** Queue keys of every cached object (for the periodic resync). */
  keys(): string[] {
    return this.list().flatMap((object) => objectKey(object) ?? []);
  }
}
