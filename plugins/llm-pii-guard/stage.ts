import { log } from '../runtime/logger';
import { errorBody } from '../runtime/relay/errors';
import type { EarlyAnswer, Exchange, RelayStage } from '../runtime/relay/stage';
import { processCompletion, streamHooks, type AnswerContext } from './answer';
import { PseudonymVault } from './pseudonyms';
import { countRequestFindings, headerValue, newReport, type PiiReport } from './report';
import { applyActions, requestSlots, scanRequest, type RequestScan } from './request-scan';
import { Scanner, ScanTimeout } from './scanner';
import type { PiiGuardConfig } from './schema';

export const PII_HEADER = 'x-llm-pii';
export const PII_OUTPUT_HEADER = 'x-llm-pii-output';
const PLUGIN = 'llm-pii-guard';

function stateOf(ex: Exchange): AnswerContext | undefined {
  return ex.pluginState[PLUGIN] as AnswerContext | undefined;
}

/**
 * llm-pii-guard in the relay. On the request: scan the scoped text fields, then block (400 naming types only),
 * redact, pseudonymize or only count. On the answer: scan the model's output (optional) and put the originals back
 * in place of this request's placeholders, in JSON answers and in streams.
 */
export function piiGuardStage(config: PiiGuardConfig): RelayStage {
  const scanner = new Scanner(config);
  const output = config.output.enabled ? { scanner, action: config.output.action } : undefined;

  const refuseOnFailure = (ex: Exchange, report: PiiReport, err: unknown): EarlyAnswer | undefined => {
    report.failure = err instanceof ScanTimeout ? 'timeout' : 'error';
    // the error's message could quote text in theory: log its kind only
    log.warn('pii scan failed', { reason: report.failure, error_name: err instanceof Error ? err.name : typeof err, fail_mode: config.fail_mode });
    if (config.fail_mode === 'open') {
      report.failed_open = true;
      report.decision = 'scan_failed_open';
      return undefined;
    }
    report.decision = 'scan_failed_closed';
    const message =
      report.failure === 'timeout'
        ? 'the request could not be checked for personal data within the time allowed and was not forwarded'
        : 'the request could not be checked for personal data and was not forwarded';
    return { status: 503, body: errorBody(ex.errorFormat, 503, message, 'pii_scan_failed') };
  };

  return {
    plugin: PLUGIN,
    async onRequest(ex) {
      if (ex.api !== 'openai-chat' && ex.api !== 'openai-embeddings') return;
      const report = newReport();
      ex.annotations.pii = report;
      const started = performance.now();
      let scan: RequestScan;
      try {
        scan = scanRequest(scanner, requestSlots(ex.api, ex.body, config.scope), { at: started + config.scan_timeout_ms });
      } catch (err) {
        report.scan_ms = round(performance.now() - started);
        return refuseOnFailure(ex, report, err);
      }
      countRequestFindings(scan.findings, report);
      report.allowed = scan.allowed;
      if (config.response_header && scan.findings.length > 0) ex.responseHeaders[PII_HEADER] = headerValue(report.detected);
      const blockedTypes = [...new Set(scan.findings.filter((f) => f.action === 'block').map((f) => f.type))];
      if (blockedTypes.length > 0) {
        report.blocked = true;
        report.decision = 'rejected';
        report.scan_ms = round(performance.now() - started);
        const message = `request blocked by the gateway's data protection policy: it contains ${blockedTypes.join(', ')}`;
        return { status: 400, body: errorBody(ex.errorFormat, 400, message, 'pii_detected') };
      }
      const vault = new PseudonymVault(() => ex.rawBody.toString('utf8'));
      applyActions(scan, vault);
      report.scan_ms = round(performance.now() - started);
      if (vault.size > 0 || output) ex.pluginState[PLUGIN] = { vault, report, output } satisfies AnswerContext;
    },
    transformCompletion(ex, completion) {
      const ctx = stateOf(ex);
      if (!ctx) return;
      processCompletion(ctx, completion);
      if (config.response_header && ctx.report.output && Object.keys(ctx.report.output.detected).length > 0) {
        ex.responseHeaders[PII_OUTPUT_HEADER] = headerValue(ctx.report.output.detected);
      }
    },
    chunkHooks(ex) {
      const ctx = stateOf(ex);
      return ctx ? streamHooks(ctx) : undefined;
    },
    onComplete(ex) {
      const ctx = stateOf(ex);
      if (!ctx) return;
      ctx.report.restored = ctx.vault.restoredCount;
      ctx.vault.clear();
      delete ex.pluginState[PLUGIN];
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
