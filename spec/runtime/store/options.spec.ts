import { createStore, StoreOptionsSchema } from '../../../plugins/runtime/store/index';

describe('StoreOptionsSchema', () => {
  it('fills in the Redis defaults', () => {
    expect(StoreOptionsSchema.parse({ type: 'redis', url: 'redis://h:6379' })).toEqual({
      type: 'redis',
      url: 'redis://h:6379',
      keyPrefix: 'llm:',
      commandTimeoutMs: 500,
      connectTimeoutMs: 1000,
    });
  });

  it.each([
    ['no connection', { type: 'redis' }],
    ['two connections', { type: 'redis', url: 'redis://h', cluster: [{ host: 'h', port: 1 }] }],
    ['sentinels without a master name', { type: 'redis', sentinels: [{ host: 'h', port: 26379 }] }],
    ['a url that is not redis', { type: 'redis', url: 'http://h' }],
    ['braces in the key prefix', { type: 'redis', url: 'redis://h', keyPrefix: '{x}' }],
    ['an empty key prefix', { type: 'redis', url: 'redis://h', keyPrefix: '' }],
    ['a typo', { type: 'redis', url: 'redis://h', comandTimeoutMs: 5 }],
    ['an unknown type', { type: 'etcd' }],
  ])('rejects %s', (_name, options) => {
    expect(StoreOptionsSchema.safeParse(options).success).toBe(false);
  });

  it('accepts Sentinel and Cluster settings', () => {
    const sentinel = { type: 'redis', sentinels: [{ host: 's', port: 26379 }], name: 'main', tls: true };
    const cluster = { type: 'redis', cluster: [{ host: 'a', port: 7000 }], password: 'p', tls: { rejectUnauthorized: false } };
    expect(StoreOptionsSchema.safeParse(sentinel).success).toBe(true);
    expect(StoreOptionsSchema.safeParse(cluster).success).toBe(true);
  });
});

describe('createStore', () => {
  it('makes a memory store, and a Redis store without waiting for a connection', async () => {
    const memory = createStore({ type: 'memory' });
    expect(memory.kind).toBe('memory');
    await memory.close();
    const redis = createStore({ type: 'redis', url: 'redis://127.0.0.1:1' });
    expect(redis.kind).toBe('redis');
    await redis.close();
  });

  it('refuses invalid options', () => {
    expect(() => createStore({ type: 'redis' })).toThrow(/exactly one of url, sentinels or cluster/);
  });
});
