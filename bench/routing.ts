/**
 * llm-proxy routing benchmark: CPU per routing decision (route resolution, rules, strategy order, breaker and queue
 * checks), per strategy, and per take-and-release of a queue slot. Run: npx tsc -p tsconfig.build.json &&
 * node dist/bench/routing.js
 */
import { resetBreakers } from '../plugins/llm-proxy/routing/breaker';
import { recordLatency } from '../plugins/llm-proxy/routing/latency';
import { resetQueues } from '../plugins/llm-proxy/routing/queue';
import { pickTarget, resolveRoute } from '../plugins/llm-proxy/routing/router';
import { STRATEGIES, type Strategy } from '../plugins/llm-proxy/routing/schema';
import { compileRoutingTable } from '../plugins/llm-proxy/routing/targets';
import { llmProxySchema } from '../plugins/llm-proxy/schema';
import { testExchange } from '../spec/support/exchange';

function cpuMicros(fn: () => void, iterations: number): number {
  for (let i = 0; i < Math.min(10_000, iterations); i++) fn(); // warm-up
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

const targets = ['primary', 'secondary', 'tertiary'].map((name, i) => ({
  name,
  provider: i === 1 ? 'anthropic' : 'openai',
  model: name,
  weight: 3 - i,
  auth: { api_key: 'k' },
  prices: { input_per_1m: i + 1, output_per_1m: 2 * (i + 1) },
}));

function tableFor(strategy: Strategy, withRules: boolean) {
  resetBreakers();
  resetQueues();
  const config = llmProxySchema.parse({
    auth: { api_key: 'k' },
    models: [
      { name: 'other', targets: [targets[0]] },
      {
        name: 'chat',
        strategy,
        targets,
        rules: withRules ? [{ header: 'x-task', equals: 'classification', targets: ['tertiary'] }, { has_tools: true, targets: ['primary', 'secondary'] }] : [],
        allowed_groups: ['team-a'],
      },
    ],
    queue: { max_in_flight: 100 },
  });
  return compileRoutingTable(config);
}

const ex = testExchange(
  { model: 'chat', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Summarise the meeting notes in three bullets.' }] },
  { identity: { consumerGroups: ['team-a'] }, headers: { 'x-task': 'summary' } },
);

const n = 200_000;
const rows: { case: string; micros: number }[] = [];
for (const strategy of STRATEGIES) {
  for (const withRules of [false, true]) {
    const table = tableFor(strategy, withRules);
    if (strategy === 'latency') for (const t of table.logical.get('chat')!.targets) recordLatency(t.key, false, 100 + t.weight, 0.3);
    const micros = cpuMicros(() => {
      const route = resolveRoute(table, ex);
      if (!pickTarget(route, ex)) throw new Error('no target');
    }, n);
    rows.push({ case: `${strategy}${withRules ? ' + 2 rules' : ''}`, micros });
  }
}
const queue = tableFor('priority', false).logical.get('chat')!.targets[0].queue;
const signal = new AbortController().signal;
const slotStart = process.cpuUsage();
const slots = 100_000;
void (async () => {
  for (let i = 0; i < slots; i++) (await queue.acquire('normal', 1000, signal))();
  const used = process.cpuUsage(slotStart);
  rows.push({ case: 'queue slot take + release (free slot)', micros: (used.user + used.system) / slots });
  console.log('routing decision: CPU microseconds per request (resolve logical model + allow-list, rules, strategy order, breaker and queue checks)');
  for (const r of rows) console.log(`  ${r.case.padEnd(40)} ${r.micros.toFixed(2)} µs`);
})();
