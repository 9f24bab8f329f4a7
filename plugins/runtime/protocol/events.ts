/**
 * One Kong "event" = one phase handler run for one request. The handler awaits PDK calls; each call is handed to
 * Kong as the reply to HandleEvent/Step, and Kong's next Step carries its result back.
 *
 * The table never keeps an event Kong will not step again (kong-pdk 0.6.0 leaks all of these):
 *  - the handler finished ("ret");
 *  - the handler emitted kong.response.exit / kong.response.error (Kong stops stepping after those);
 *  - Kong did not step within the timeout (a Lua error in the PDK call, a Kong-side timeout, a dead worker).
 */

export type PdkCall = { Method: string; Args: unknown[] };
export type StepData = PdkCall | 'ret';

/** PDK methods after which Kong never sends another Step for the event. */
export const NON_RETURNING_METHODS: ReadonlySet<string> = new Set(['kong.response.exit', 'kong.response.error']);

export class EventEndedError extends Error {
  constructor(reason: string) {
    super(`PDK call after the event ended (${reason})`);
    this.name = 'EventEndedError';
  }
}

export class PdkError extends Error {
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`PDK method ${method} failed: ${message}`);
    this.name = 'PdkError';
  }
}

interface Waiting {
  call: PdkCall;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** The handler's side of an event: PDK calls go out one at a time, in order. */
export class EventChannel {
  private queue: Waiting[] = [];
  private inFlight: Waiting | undefined;
  private serverWaiter: ((data: StepData) => void) | undefined;
  private finished = false;
  private endedReason: string | undefined;

  constructor(readonly id: number) {}

  /** Called by handler code (through the Pdk facade). */
  call(method: string, args: unknown[]): Promise<unknown> {
    if (this.endedReason) return Promise.reject(new EventEndedError(this.endedReason));
    const call: PdkCall = { Method: method, Args: args };
    if (NON_RETURNING_METHODS.has(method)) {
      // Fire and forget: Kong answers the client and never steps this event again.
      this.pushToServer(call);
      this.end('response sent');
      return Promise.resolve(undefined);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      this.pump();
    });
  }

  /** Called when the handler returns or throws. */
  finish(): void {
    this.finished = true;
    this.pump();
  }

  /** Server side: the next thing to send Kong ('ret' when the handler is done). */
  next(): Promise<StepData> {
    return new Promise((resolve) => {
      this.serverWaiter = resolve;
      this.pump();
    });
  }

  /** Server side: Kong's result for the call in flight. */
  deliver(data: unknown, error?: string): boolean {
    const waiting = this.inFlight;
    if (!waiting) return false;
    this.inFlight = undefined;
    if (error !== undefined) waiting.reject(new PdkError(waiting.call.Method, error));
    else waiting.resolve(data);
    return true;
  }

  /** Ends the event: the call in flight and any queued ones fail; later calls fail at once. */
  end(reason: string): void {
    if (this.endedReason) return;
    this.endedReason = reason;
    if (!this.inFlight && this.queue.length === 0) return; // the usual case: no Error (and stack trace) to build
    const err = new EventEndedError(reason);
    this.inFlight?.reject(err);
    this.inFlight = undefined;
    for (const w of this.queue) w.reject(err);
    this.queue = [];
  }

  get ended(): boolean {
    return this.endedReason !== undefined;
  }

  get isNonReturning(): boolean {
    return this.endedReason === 'response sent';
  }

  private pendingOut: StepData | undefined;

  private pushToServer(data: StepData): void {
    this.pendingOut = data;
    this.pump();
  }

  private pump(): void {
    if (!this.serverWaiter) return;
    let out: StepData | undefined = this.pendingOut;
    if (out !== undefined) {
      this.pendingOut = undefined;
    } else if (!this.inFlight && this.queue.length > 0 && !this.endedReason) {
      this.inFlight = this.queue.shift()!;
      out = this.inFlight.call;
    } else if (this.finished && !this.inFlight && this.queue.length === 0) {
      out = 'ret';
    }
    if (out === undefined) return;
    const waiter = this.serverWaiter;
    this.serverWaiter = undefined;
    waiter(out);
  }
}
