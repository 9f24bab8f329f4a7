import { z } from 'zod';
import { windowSchema } from '../runtime/limits/windows';
import { reservationFields, storePolicyFields } from '../runtime/store/plugin-store';
import { priceFields } from './catalog';

const secret = { kong: { referenceable: true, encrypted: true } };

/** Dimensions a budget can be kept per, and a report grouped by. `tag:<name>` names a configured tag. */
export const DIMENSION_PATTERN = /^(consumer|consumer_group|route|service|provider|model|tag:[a-z0-9_-]{1,32})$/;
const dimension = z
  .string()
  .regex(DIMENSION_PATTERN, 'one of consumer, consumer_group, route, service, provider, model, tag:<name>')
  .describe('A dimension: consumer, consumer_group, route, service, provider, model or tag:<name> (a configured tag).');

const tagSchema = z.object({
  name: z.string().regex(/^[a-z0-9_-]{1,32}$/).describe('Tag name as it appears in events, budgets (tag:<name>) and reports, e.g. team.'),
  header: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/)
    .optional()
    .describe('Request header the value is read from, e.g. x-team. Clients choose header values: prefer consumer tags for caps.'),
  consumer_tag_prefix: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Read the value from the Kong consumer\'s tags: the first tag starting with this prefix, e.g. team: for team:data. Wins over the header.'),
  allowed_values: z
    .array(z.string().min(1).max(64))
    .default([])
    .describe('If set, values outside this list are recorded as "other" (bounds the number of distinct values a client can create).'),
  default: z.string().min(1).max(64).default('none').describe('Value used when the request carries no value for this tag.'),
});

const priceOverrideSchema = z.object({
  provider: z.string().min(1).optional().describe('Provider the price applies to (as llm-proxy names it); unset = any provider serving this model.'),
  model: z.string().min(1).describe('Model name as sent to or reported by the provider.'),
  kind: z.enum(['chat', 'embedding']).default('chat').describe('chat (input and output priced) or embedding (input only).'),
  ...priceFields,
});

const budgetSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).describe('Budget name, shown in rejections, alerts and store keys (letters, digits, _ . -).'),
  amount_usd: z.number().positive().max(1e9).describe('Hard cap in USD per period for each combination of the by dimensions\' values.'),
  period: windowSchema.describe('day, week (from Monday), month (calendar, in time_zone), minute, hour, or a number of seconds such as 3600s.'),
  rolling: z
    .boolean()
    .default(false)
    .describe('Only with a period in seconds: a sliding window (spend in the last N seconds, released in 1/12 steps) instead of fixed windows.'),
  time_zone: z.string().min(1).default('UTC').describe('IANA time zone in which calendar periods start, e.g. Europe/Paris.'),
  by: z.array(dimension).default([]).describe('Dimensions the budget is kept per, e.g. [tag:team, tag:env]; empty = one budget for all requests.'),
  where: z
    .array(
      z.object({
        dimension,
        values: z.array(z.string().min(1)).min(1).describe('Values for which the budget applies.'),
      }),
    )
    .default([])
    .describe('Apply the budget only to requests whose dimensions have one of these values (all conditions must hold).'),
  thresholds: z
    .array(z.number().gt(0).max(1))
    .default([0.5, 0.8, 1])
    .describe('Alert when settled spend reaches these fractions of amount_usd; each fires once per budget value per period.'),
}).superRefine((budget, ctx) => {
  if (budget.rolling && !budget.period.endsWith('s')) {
    ctx.addIssue({ code: 'custom', path: ['rolling'], message: 'rolling needs a period in seconds, e.g. 86400s for a rolling day' });
  }
});

const spikeSchema = z.object({
  enabled: z.boolean().default(true).describe('Alert when a consumer\'s spend rate jumps far above its recent average.'),
  by: dimension.default('consumer').describe('Dimension whose spend rate is watched (consumer by default).'),
  window_seconds: z.number().int().min(1).max(86_400).default(300).describe('Length of the window whose spend is compared with the baseline.'),
  baseline_windows: z.number().int().min(1).max(48).default(12).describe('How many previous windows make up the baseline average.'),
  factor: z.number().min(1).max(1000).default(5).describe('Alert when window spend ≥ factor × the baseline average per window.'),
  min_usd: z.number().min(0).max(1e6).default(1).describe('Never alert below this spend in one window (quiet consumers stay quiet).'),
});

const webhookSchema = z.object({
  url: z.string().url().optional().describe('Alerts are POSTed here as JSON; unset = alerts go to the log only.').meta({ kong: { referenceable: true } }),
  secret: z
    .string()
    .min(16)
    .optional()
    .describe('Shared secret: the X-LLM-Signature header carries t=<unix seconds>,v1=<HMAC-SHA256 of "<t>.<body>"> in hex.')
    .meta(secret),
  timeout_ms: z.number().int().min(100).max(60_000).default(5_000).describe('Time allowed for one delivery attempt, in milliseconds.'),
  max_attempts: z.number().int().min(1).max(20).default(8).describe('Delivery attempts per alert before it is dropped (and counted).'),
  backoff_ms: z.number().int().min(10).max(600_000).default(1_000).describe('Delay before the first retry; doubles per attempt up to 5 minutes.'),
  max_queue: z.number().int().min(1).max(100_000).default(1_000).describe('Alerts waiting for delivery; beyond this the oldest is dropped (and counted).'),
});

export const costConfigSchema = z.object({
  tags: z.array(tagSchema).default([]).describe('Attribution tags carried by every usage event and usable in budgets and reports.'),
  prices: z.array(priceOverrideSchema).default([]).describe('Prices that override or extend the shipped catalog (USD per million tokens).'),
  unknown_model: z
    .enum(['block', 'default_price', 'zero_and_alert'])
    .default('block')
    .describe('Model without a price: block (403 naming the model), default_price, or zero_and_alert (count $0, log and alert).'),
  default_price: z
    .object({
      input: z.number().min(0).max(100_000).default(15).describe('Default input price in USD per million tokens.'),
      output: z.number().min(0).max(100_000).default(75).describe('Default output price in USD per million tokens.'),
    })
    .prefault({})
    .describe('Prices used for unknown models when unknown_model is default_price.'),
  budgets: z.array(budgetSchema).default([]).describe('Hard caps in money: a request whose worst-case cost does not fit is refused.'),
  over_budget_status: z
    .union([z.literal(429), z.literal(402)])
    .default(429)
    .describe('Status of a request refused by a budget: 429 (retry later) or 402 (payment required).'),
  default_max_completion_tokens: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(4096)
    .describe('Completion tokens assumed for the worst case when the request sets no max_tokens / max_completion_tokens.'),
  enforce_max_completion_tokens: z
    .boolean()
    .default(true)
    .describe('When the request sets no output limit, send default_max_completion_tokens upstream so the reservation holds.'),
  estimate_margin: z
    .number()
    .min(0)
    .max(2)
    .default(0.1)
    .describe('Extra fraction added to the prompt estimate when the tokenizer is not exact for the model (reservations only).'),
  stop_stream_at_cap: z
    .boolean()
    .default(false)
    .describe('Streams: admit a request the worst case does not fit, limited to what is left, and end the stream when it would cross the cap.'),
  cost_headers: z.boolean().default(true).describe('Add X-LLM-Cost-USD and X-LLM-Price-Catalog to non-streamed answers.'),
  report_time_zone: z.string().min(1).default('UTC').describe('Time zone of the days the report aggregates are kept per.'),
  report_retention_days: z.number().int().min(1).max(3660).default(400).describe('Days the per-day report aggregates are kept in the store.'),
  alerts: z
    .object({
      webhook: webhookSchema.prefault({}).describe('Webhook receiving budget, spike and unknown-model alerts.'),
      spike: spikeSchema.prefault({}).describe('Spend-spike detection (the runaway-job case).'),
    })
    .prefault({})
    .describe('Where alerts go and the spend-spike rule; alerts are always logged.'),
  ...storePolicyFields,
  ...reservationFields,
});

export type CostConfig = z.infer<typeof costConfigSchema>;
export type BudgetConfig = CostConfig['budgets'][number];
export type TagConfig = CostConfig['tags'][number];
export type WebhookConfig = CostConfig['alerts']['webhook'];
export type SpikeConfig = CostConfig['alerts']['spike'];
