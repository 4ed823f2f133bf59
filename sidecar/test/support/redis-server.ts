/** Tests start Redis with the same code as `quorumstore local --store redis`. */
export {
  startRedis,
  stopAllRedis,
  type RedisProcess,
  type StartRedisOptions,
} from '../../src/local/redis-server.js';
