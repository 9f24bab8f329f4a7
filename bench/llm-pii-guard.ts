/**
 * llm-pii-guard benchmark: scanning throughput (MB/s) on typical prompt text, the cost of guarding a typical 10 KB
 * chat request end to end in the stage (walk, scan, pseudonymize), and the worst case over adversarial 100 KB inputs.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/llm-pii-guard.js
 */
import { piiGuardSchema } from '../plugins/llm-pii-guard/schema';
import { Scanner } from '../plugins/llm-pii-guard/scanner';
import { piiGuardStage } from '../plugins/llm-pii-guard/stage';
import type { Exchange } from '../plugins/runtime/relay/stage';
import { testExchange } from '../spec/support/exchange';

const TICKET = `Ticket #482913 — customer jane.roe@acme-corp.io reports that order ORD-2024-118734 (placed 2024-03-15T10:22:31Z)
was charged twice. Card on file ends 1111; she asks for a refund to DE89 3704 0044 0532 0130 00. Call back on +44 20 7946 0958.
Log excerpt:
2024-05-01 12:00:03,114 INFO [auth] login ok user=jane.roe@acme-corp.io ip=52.94.236.248 session=9fceb02d0ae598e95dc970b74767f19372d61af8
2024-05-01 12:00:07,551 WARN [payments] retry 3/5 upstream=10.0.3.17:8443 request_id=req_8f3a2b1c9d build=1.22.4
Config snippet the customer pasted:
  retries = 3
  timeout_seconds = 30
  endpoint = "https://api.acme.io/v2/orders?page=2&limit=50"
Please summarise the issue, propose next steps, and draft a polite reply in English and German (Sie-Form).
`;

function typicalPrompt(bytes: number): string {
  let text = '';
  while (text.length < bytes) text += TICKET;
  return text.slice(0, bytes);
}

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function exchange(body: Record<string, unknown>): Exchange {
  return testExchange(JSON.parse(JSON.stringify(body)));
}

async function main(): Promise<void> {
  const config = piiGuardSchema.parse({ detectors: { phone: { default_regions: ['US', 'GB', 'DE', 'FR'] } } });
  const scanner = new Scanner(config);
  const stage = piiGuardStage(config);

  // throughput on 1 MB of typical text, in 10 KB prompts
  const prompt10k = typicalPrompt(10 * 1024);
  for (let i = 0; i < 50; i++) scanner.scan(prompt10k); // warm-up
  const rounds = 100;
  const totalMs = cpuMs(() => {
    for (let i = 0; i < rounds; i++) scanner.scan(prompt10k);
  });
  const mbPerS = (rounds * prompt10k.length) / 1e6 / (totalMs / 1000);

  // one 10 KB chat request through the stage: JSON walk, scan, pseudonymize
  const stageTimes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const ex = exchange({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are a support assistant.' }, { role: 'user', content: prompt10k }] });
    const start = performance.now();
    await stage.onRequest!(ex);
    stageTimes.push(performance.now() - start);
  }
  const findings = scanner.scan(prompt10k).findings.length;

  // adversarial worst case
  const size = 100 * 1024;
  const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  const adversarial: Record<string, string> = {
    'digit-dash': fill('1-'),
    'plus-one': fill('+1 '),
    'digit-pairs': fill('12 34 56 78 '),
    'at-signs': fill('a@'),
    'dotted-local': `${fill('a.')}@x`,
    'jwt-parts': fill('eyJhbGci.'),
    'pem-begins': fill('-----BEGIN PRIVATE KEY-----\n'),
    'assignments': fill('key='),
    'base64-40': fill('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY secret '),
    'hex-colons': fill('1:'),
    'card-groups': fill('4111 '),
  };
  let worst = { name: '', ms: 0 };
  for (const [name, text] of Object.entries(adversarial)) {
    const ms = Math.min(cpuMs(() => scanner.scan(text)), cpuMs(() => scanner.scan(text)));
    if (ms > worst.ms) worst = { name, ms };
  }

  const lines = [
    `scan throughput (typical prompt text, all detectors, 4 phone regions): ${mbPerS.toFixed(1)} MB/s`,
    `typical 10 KB prompt (${findings} findings): scan ${(totalMs / rounds).toFixed(2)} ms CPU; whole stage onRequest median ${median(stageTimes).toFixed(2)} ms, p99 ${[...stageTimes].sort((a, b) => a - b)[Math.floor(stageTimes.length * 0.99)].toFixed(2)} ms`,
    `adversarial 100 KB worst case: ${worst.ms.toFixed(1)} ms CPU (${worst.name})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main();
