/**
 * The informer wrapper driven through the real client-node ListWatch, with the HTTP watch replaced
 * by a fake: this checks our restart logic against the library's actual error behaviour.
 */
import { describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { enqueueObject } from '../../../src/runtime/event-handlers.js';
import { Informer } from '../../../src/runtime/informer.js';
import { FakeClock, settle } from './support/fake-clock.js';
import { captureLogger } from './support/log-capture.js';

type Obj = k8s.KubernetesObject & { status?: object };

interface WatchCall {
  params: Record<string, unknown>;
  emit(type: string, object: Obj): void;
  end(error?: unknown): void;
}

/** Stands in for k8s.Watch: records each watch request; the test then feeds or ends it. */
class FakeWatch {
  readonly calls: WatchCall[] = [];

  async watch(
    _path: string,
    params: Record<string, unknown>,
    callback: (phase: string, object: Obj) => void,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    let ended = false;
    const end = (error: unknown = null): void => {
      if (ended) return;
      ended = true;
      done(error);
    };
    // As undici does: aborting the request errors the body stream, which reports an AbortError.
    controller.signal.addEventListener('abort', () =>
      queueMicrotask(() => end(new DOMException('This operation was aborted', 'AbortError'))),
    );
    this.calls.push({ params, emit: (type, object) => callback(type, object), end });
    return controller;
  }

  get last(): WatchCall {
    return this.calls[this.calls.length - 1]!;
  }
}

const cluster = (name: string, generation: number, resourceVersion: string, status = {}): Obj => ({
  apiVersion: 'quorumstore.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name, namespace: 'ns', generation, resourceVersion },
  status,
});

function setup(options: { listFailures?: number } = {}) {
  const clock = new FakeClock();
  const watch = new FakeWatch();
  let listFailures = options.listFailures ?? 0;
  let lists = 0;
  const items = [cluster('a', 1, '10'), cluster('b', 1, '11')];
  const list = async (): Promise<k8s.KubernetesListObject<Obj>> => {
    lists++;
    if (listFailures-- > 0) throw new k8s.ApiException(503, 'Service Unavailable', {}, {});
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '20' }, items };
  };
  const source = new k8s.ListWatch<Obj>(
    '/apis/quorumstore.dev/v1alpha1/clusters',
    watch as unknown as k8s.Watch,
    list,
    false,
    undefined,
    undefined,
    { delayFn: async () => {} },
  );
  const { logger, lines } = captureLogger();
  const informer = new Informer<Obj>({
    name: 'clusters',
    kubeConfig: new k8s.KubeConfig(),
    path: '/apis/quorumstore.dev/v1alpha1/clusters',
    list,
    logger,
    clock,
    restartBackoff: { baseMs: 800, maxMs: 30_000, jitter: 1, random: () => 0 },
    source,
  });
  const keys: string[] = [];
  informer.onEvent(enqueueObject({ add: (key) => keys.push(key) > 0 }));
  return { clock, watch, informer, lines, keys, lists: () => lists };
}

const restarts = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => line.msg === 'informer list/watch failed; restarting');

describe('Informer', () => {
  it('lists, caches, reports synced and enqueues every object', async () => {
    const { informer, keys } = setup();
    expect(informer.hasSynced()).toBe(false);
    const synced = informer.waitForSync();
    informer.start();
    expect(await synced).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(keys).toEqual(['ns/a', 'ns/b']);
    expect(informer.keys()).toEqual(['ns/a', 'ns/b']);
    expect(informer.get('ns', 'a')?.metadata?.resourceVersion).toBe('10');
    expect(informer.getByKey('ns/b')?.metadata?.name).toBe('b');
    expect(informer.list('other')).toEqual([]);
    await informer.stop();
  });

  it('restarts with growing backoff when the list fails, and syncs once it works', async () => {
    const { clock, informer, lines, lists } = setup({ listFailures: 2 });
    informer.start();
    await settle();
    expect(informer.hasSynced()).toBe(false);
    expect(restarts(lines).map((line) => line.delayMs)).toEqual([800]);
    await clock.advance(800);
    expect(restarts(lines).map((line) => line.delayMs)).toEqual([800, 1_600]);
    await clock.advance(1_599);
    expect(lists()).toBe(2);
    await clock.advance(1);
    expect(lists()).toBe(3);
    expect(informer.hasSynced()).toBe(true);
    await informer.stop();
  });

  it('restarts a broken watch, resuming from the last resourceVersion without relisting', async () => {
    const { clock, watch, informer, lines, lists } = setup();
    informer.start();
    await settle();
    watch.last.emit('MODIFIED', cluster('a', 2, '21'));
    watch.last.end(new Error('read ECONNRESET'));
    await settle();
    expect(restarts(lines)).toHaveLength(1);
    await clock.advance(800);
    expect(watch.calls).toHaveLength(2);
    expect(watch.last.params.resourceVersion).toBe('21');
    expect(lists()).toBe(1);
    await informer.stop();
  });

  it('keeps one restart in flight however many errors arrive', async () => {
    const { clock, watch, informer, lines } = setup();
    informer.start();
    await settle();
    watch.last.end(new Error('first'));
    await settle();
    // A stray late error from the dead attempt must not schedule a second restart.
    (informer as unknown as { onError(error: unknown): void }).onError(new Error('second'));
    expect(restarts(lines)).toHaveLength(1);
    await clock.advance(800);
    expect(watch.calls).toHaveLength(2);
    await informer.stop();
  });

  it('resets the backoff after a run stayed healthy for two minutes', async () => {
    const { clock, watch, informer, lines } = setup();
    informer.start();
    await settle();
    watch.last.end(new Error('one'));
    await clock.advance(800);
    watch.last.end(new Error('two'));
    await clock.advance(1_600);
    await clock.advance(120_000);
    watch.last.end(new Error('three'));
    await settle();
    expect(restarts(lines).map((line) => line.delayMs)).toEqual([800, 1_600, 800]);
    await informer.stop();
  });

  it('leaves 410 Gone to the library, which relists without an error', async () => {
    const { watch, informer, lines, lists } = setup();
    informer.start();
    await settle();
    watch.last.end({ statusCode: 410 });
    await settle();
    expect(lists()).toBe(2);
    expect(restarts(lines)).toHaveLength(0);
    await informer.stop();
  });

  it('does not restart after stop(), although the library reports the abort as an error', async () => {
    const { clock, informer, lines, watch } = setup();
    informer.start();
    await settle();
    await informer.stop();
    await clock.advance(60_000);
    expect(restarts(lines)).toHaveLength(0);
    expect(watch.calls).toHaveLength(1);
  });

  it('hands the previous version to update handlers, so status-only updates are filtered', async () => {
    const { watch, informer, keys } = setup();
    const previous: (string | undefined)[] = [];
    informer.onEvent((event) => {
      if (event.type === 'update') previous.push(event.previous?.metadata?.resourceVersion);
    });
    informer.start();
    await settle();
    keys.length = 0;
    watch.last.emit('MODIFIED', cluster('a', 1, '30', { ready: true })); // status write
    watch.last.emit('MODIFIED', cluster('a', 2, '31', { ready: true })); // spec edit
    watch.last.emit('DELETED', cluster('a', 2, '32'));
    await settle();
    expect(previous).toEqual(['10', '30']);
    expect(keys).toEqual(['ns/a', 'ns/a']);
    await informer.stop();
  });

  it('contains a throwing handler: logged, and later handlers still run', async () => {
    const { informer, keys, lines } = setup();
    informer.onEvent(() => {
      throw new Error('bug in handler');
    });
    informer.start();
    await settle();
    expect(keys).toEqual(['ns/a', 'ns/b']);
    expect(lines.filter((line) => line.msg === 'informer event handler threw')).toHaveLength(2);
    await informer.stop();
  });

  it('waitForSync gives up when its signal aborts', async () => {
    const { informer } = setup({ listFailures: 100 });
    const abort = new AbortController();
    const synced = informer.waitForSync(abort.signal);
    informer.start();
    abort.abort();
    expect(await synced).toBe(false);
    await informer.stop();
  });
});
