import { DeclarativeError, loadDeclarativeFile } from '../config/declarative';
import { SUITE_PREFIX, formatProblem, validateDeclarative } from '../config/validate';
import type { ConfigSource } from '../config/config-source';

export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

/** `kong-llm validate <file...>`: 0 = no problems, 1 = problems found, 2 = a file could not be read or parsed. */
export async function runValidate(files: readonly string[], defs: readonly ConfigSource[], out: CliOutput): Promise<number> {
  if (files.length === 0) {
    out.error('usage: kong-llm validate <kong.yaml> [more files...]');
    return 2;
  }
  let exitCode = 0;
  let checkedPlugins = 0;
  for (const file of files) {
    try {
      const cfg = loadDeclarativeFile(file);
      const problems = validateDeclarative(cfg, defs);
      checkedPlugins += cfg.plugins.filter((plugin) => plugin.name.startsWith(SUITE_PREFIX)).length;
      for (const problem of problems) out.error(formatProblem(problem));
      if (problems.length > 0) exitCode = Math.max(exitCode, 1);
    } catch (error) {
      if (!(error instanceof DeclarativeError)) throw error;
      out.error(error.message);
      exitCode = 2;
    }
  }
  if (exitCode === 0) {
    out.log(`ok: ${files.length} file(s), ${checkedPlugins} llm-* plugin(s) valid`);
  }
  return exitCode;
}
