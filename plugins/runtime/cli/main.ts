#!/usr/bin/env node
// stdout belongs to the query command's JSON (Kong parses it): anything printed by a library goes to stderr.
for (const method of ['log', 'info', 'warn', 'debug'] as const) {
  console[method] = (...args: unknown[]) => console.error(...args);
}

import { parseArgs } from 'node:util';
import { PLUGINS } from '../../registry';
import { pluginInfo } from '../protocol/plugin-server';
import { runReport } from './report';
import { runTop } from './top';
import { runValidate } from './validate';
import { serve } from './serve';
import { runCache } from '../../llm-semantic-cache/cli';

const USAGE = `kong-llm — the LLM plugin suite's plugin server and tools

  kong-llm serve --socket PATH [--relay-port N]   run the plugin server (Kong's pluginserver start_cmd)
  kong-llm dump [--plugin NAME]                   print plugin info JSON (Kong's pluginserver query_cmd)
  kong-llm validate FILE...                       check the llm-* plugin configs in decK/kong.yaml files offline
  kong-llm report [options]                       spend by consumer, team, model, route or tag (kong-llm report --help)
  kong-llm cache eval FILE [options]              semantic cache false-hit rate and recall on labelled pairs
  kong-llm cache purge [options]                  empty the semantic cache (kong-llm cache for options)
  kong-llm top (--url URL | --events FILE)        at-a-glance summary of recent traffic (kong-llm top --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { socket: { type: 'string' }, 'relay-port': { type: 'string' } } });
      if (!values.socket) throw new UsageError('serve needs --socket PATH');
      await serve({ socketPath: values.socket, relayPort: values['relay-port'] ? Number(values['relay-port']) : undefined });
      return -1; // keeps running until SIGTERM
    }
    case 'dump': {
      const { values } = parseArgs({ args: rest, options: { plugin: { type: 'string' } } });
      const selected = values.plugin ? PLUGINS.filter((p) => p.name === values.plugin) : PLUGINS;
      if (selected.length === 0) throw new UsageError(`unknown plugin ${values.plugin}; known: ${PLUGINS.map((p) => p.name).join(', ')}`);
      process.stdout.write(`${JSON.stringify(selected.map(pluginInfo))}\n`);
      return 0;
    }
    case 'validate': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true });
      if (positionals.length === 0) throw new UsageError('validate needs at least one file');
      return runValidate(positionals, PLUGINS, { log: (s) => process.stdout.write(`${s}\n`), error: (s) => process.stderr.write(`${s}\n`) });
    }
    case 'cache':
      return runCache(rest, { log: (s) => process.stdout.write(`${s}\n`), error: (s) => process.stderr.write(`${s}\n`) });
    case 'report':
      return runReport(rest, { log: (s) => process.stdout.write(`${s}\n`), error: (s) => process.stderr.write(`${s}\n`) });
    case 'top':
    case 'summary':
      return runTop(rest, { log: (s) => process.stdout.write(`${s}\n`), error: (s) => process.stderr.write(`${s}\n`) });
    case undefined:
    case '-h':
    case '--help':
      process.stderr.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kong-llm: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(USAGE);
    process.exitCode = 2;
  },
);
