import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Servers spawned by tests (the plugin server, mock providers) run the compiled dist/: build it first, so that
 * `npx jest spec/...` works on its own too. scripts/test has built already; tsc is quick when nothing changed.
 */
export default function globalSetup(): void {
  const root = join(__dirname, '..', '..');
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
      stdio: 'inherit',
    });
  } catch {
    // scripts/test (and so CI) fails on type errors before jest starts; here, tsc has still emitted what it could
    process.stderr.write('global-setup: tsc reported type errors (see above); tests run against what it emitted\n');
  }
}
