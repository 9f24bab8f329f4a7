import { createStore } from '../../../plugins/runtime/store/index';
import { startRedisCluster, type RedisCluster } from '../../support/redis-server';
import { storeContract, waitUntilAvailable } from './contract';

// A local 3-master cluster: proves every script's keys share one slot (the `{keyPrefix}` hash tag), which
// includes the keys settle reads from a reservation without declaring them.
let cluster: RedisCluster | undefined;
storeContract(
  'redis (3-master cluster)',
  async () => {
    cluster = await startRedisCluster(3);
    const store = createStore({ type: 'redis', cluster: cluster.nodes });
    await waitUntilAvailable(store, 5000);
    return store;
  },
  async () => cluster?.stop(),
);
