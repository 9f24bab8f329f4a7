export type KongLogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'err' | 'crit';

export interface KongLogEntry {
  level: KongLogLevel;
  message: string;
  worker?: number;
  plugin?: string;
  time: number;
}

/**
 * The emulator's error.log, kept in memory. Tests assert on it (e.g. "could not find pdk method"); it is printed
 * only when the emulator runs `verbose`. Messages are Kong's own texts and plugins' kong.log.* lines.
 */
export class KongLog {
  readonly entries: KongLogEntry[] = [];
  private static readonly MAX_ENTRIES = 10_000;

  constructor(private readonly verbose = false) {}

  write(level: KongLogLevel, message: string, where: { worker?: number; plugin?: string } = {}): void {
    const entry: KongLogEntry = { level, message, time: Date.now(), ...where };
    if (this.entries.length >= KongLog.MAX_ENTRIES) this.entries.shift();
    this.entries.push(entry);
    if (this.verbose) {
      const prefix = where.plugin ? `[${where.plugin}] ` : '';
      process.stderr.write(`[kong-emulator] [${level}] ${prefix}${message}\n`);
    }
  }

  /** Entries whose message contains `text`. */
  find(text: string): KongLogEntry[] {
    return this.entries.filter((e) => e.message.includes(text));
  }
}
