/** The storage layer's public surface: the contract, both back ends, instrumentation. */
import { MemoryStore } from './memory-store.js';
import type { ObjectStore, StoreConfig } from './object-store.js';
import { RedisStore } from './redis-store.js';

export * from './object-store.js';
export { MemoryStore } from './memory-store.js';
export { RedisStore, type RedisStoreOptions } from './redis-store.js';
export {
  instrumentStore,
  STORAGE_DURATION_METRIC,
  STORAGE_ERRORS_METRIC,
  type StorageOperation,
} from './instrumented-store.js';
export { isObjectId } from './validate.js';

/**
 * Opens the configured back end. Redis connects in the background and reconnects forever: in a
 * pod the Redis container may start after the sidecar, so the node starts anyway and reports
 * "not ready" until storage answers (use `RedisStore.connect` to wait instead).
 */
export async function openStore(config: StoreConfig): Promise<ObjectStore> {
  switch (config.kind) {
    case 'memory':
      return new MemoryStore();
    case 'redis':
      return new RedisStore(config);
    default: {
      const unknown: never = config;
      throw new Error(`unknown store kind: ${JSON.stringify(unknown)}`);
    }
  }
}
