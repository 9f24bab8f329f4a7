import { ContextRegistry, type RequestContext } from './context';
import { TicketBook } from './relay/tickets';

/**
 * Process-wide state shared by the five plugins (DESIGN §2.2: one process serves them all). Plugin instances
 * hold none of it: Kong may restart instances at any time.
 */
export interface SuiteRuntime {
  contexts: ContextRegistry;
  tickets: TicketBook<RequestContext>;
  /** Where Kong must send LLM traffic; set when the relay is listening. */
  relay: { host: string; port: number } | undefined;
}

let runtime: SuiteRuntime | undefined;

export function suiteRuntime(): SuiteRuntime {
  runtime ??= {
    contexts: new ContextRegistry(),
    tickets: new TicketBook<RequestContext>(Number(process.env.LLM_TICKET_TTL_MS) || 60_000),
    relay: undefined,
  };
  return runtime;
}

export function closeSuiteRuntime(): void {
  runtime?.contexts.close();
  runtime?.tickets.close();
  runtime = undefined;
}
