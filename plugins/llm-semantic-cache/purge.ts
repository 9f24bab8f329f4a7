import { parseArgs } from 'node:util';
import { closeRedisIndexClients, RedisCacheIndex, redisIndexClient, whenConnected } from './redis-index';
import { cacheFields } from './schema';
import type { CliIo } from './cli';

export const PURGE_USAGE = `kong-llm cache purge (--partition KEY | --all) --redis URL [--key-prefix llm:]
                                    delete cached answers of one partition (the usage event's cache.partition) or all
                                    of them from a policy: redis cache; a policy: local cache lives in the plugin
                                    server's memory and ends with it
`;

/** `kong-llm cache purge`: empties one partition of the Redis cache, or all of it. */
export async function runPurge(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      partition: { type: 'string' },
      all: { type: 'boolean', default: false },
      redis: { type: 'string' },
      'key-prefix': { type: 'string', default: 'llm:' },
    },
  });
  if ((values.partition === undefined) === !values.all) {
    io.error('cache purge needs exactly one of --partition KEY or --all');
    io.error(PURGE_USAGE);
    return 2;
  }
  if (!values.redis) {
    io.error('cache purge needs --redis URL (redis://host:port/db): a policy local cache is in the plugin server\'s memory and is emptied by restarting it');
    return 2;
  }
  const prefix = values['key-prefix'];
  const client = redisIndexClient({ type: 'redis', url: values.redis, keyPrefix: prefix, commandTimeoutMs: 10_000 });
  try {
    await whenConnected(client);
    const defaults = cacheFields;
    const index = new RedisCacheIndex(client, prefix, {
      lshTables: defaults.lsh_tables.parse(undefined),
      lshBits: defaults.lsh_bits.parse(undefined),
      maxCandidates: defaults.max_candidates.parse(undefined),
      vectorSearch: 'lsh',
    });
    const removed = await index.purge(values.partition);
    io.log(`purged ${removed} cached answer${removed === 1 ? '' : 's'}${values.partition ? ` of partition ${values.partition}` : ''}`);
    return 0;
  } finally {
    await closeRedisIndexClients();
  }
}
