import { z } from 'zod';
import shippedCatalog from './prices.json';

/** A price in USD per million tokens (the unit every provider publishes). */
const usdPerMillion = (what: string) =>
  z.number().min(0).max(100_000).describe(`${what}, in USD per million tokens.`);

export const tierSchema = z.object({
  above_prompt_tokens: z.number().int().min(1).describe('The tier applies to the whole request when its prompt has more tokens than this.'),
  input: usdPerMillion('Input (prompt) price in this tier'),
  output: usdPerMillion('Output (completion) price in this tier').optional(),
  cached_input: usdPerMillion('Cached-input (cache read) price in this tier').optional(),
  cache_write: usdPerMillion('Cache-write price in this tier').optional(),
});

/** The price fields shared by catalog entries and config overrides. */
export const priceFields = {
  input: usdPerMillion('Input (prompt) price'),
  output: usdPerMillion('Output (completion) price; reasoning tokens are output tokens unless reasoning is set').optional(),
  cached_input: usdPerMillion('Price of prompt tokens read from the provider\'s cache; unset = the input price').optional(),
  cache_write: usdPerMillion('Price of prompt tokens written to the provider\'s cache; unset = the input price').optional(),
  reasoning: usdPerMillion('Price of reasoning tokens where priced apart from output; unset = the output price').optional(),
  tiers: z.array(tierSchema).default([]).describe('Higher prices for long prompts (e.g. above 200k tokens), applied to the whole request.'),
};

export const catalogEntrySchema = z.object({
  provider: z.string().min(1),
  model: z.string().min(1),
  aliases: z.array(z.string().min(1)).default([]),
  kind: z.enum(['chat', 'embedding']).default('chat'),
  ...priceFields,
  effective_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  source: z.string().min(1),
  note: z.string().optional(),
});
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

export const catalogSchema = z.object({
  version: z.string().min(1),
  currency: z.literal('USD'),
  unit: z.literal('per 1M tokens'),
  notes: z.string().optional(),
  models: z.array(catalogEntrySchema).min(1),
});
export type Catalog = z.infer<typeof catalogSchema>;

/** A price ready for arithmetic: integer pico-USD per token (= USD per million tokens × 10^6), never floats. */
export interface Rates {
  input: number;
  output: number;
  cachedInput: number;
  cacheWrite: number;
  reasoning: number;
}

export interface Price {
  provider: string;
  model: string;
  kind: 'chat' | 'embedding';
  base: Rates;
  /** Sorted by threshold, ascending. */
  tiers: { abovePromptTokens: number; rates: Rates }[];
  /** catalog:<version> | config | default */
  source: string;
  effectiveDate?: string;
}

const toPico = (usdPerM: number): number => Math.round(usdPerM * 1_000_000);

function ratesOf(p: { input: number; output?: number; cached_input?: number; cache_write?: number; reasoning?: number }, base?: Rates): Rates {
  const output = p.output !== undefined ? toPico(p.output) : (base?.output ?? 0);
  return {
    input: toPico(p.input),
    output,
    cachedInput: p.cached_input !== undefined ? toPico(p.cached_input) : toPico(p.input),
    cacheWrite: p.cache_write !== undefined ? toPico(p.cache_write) : toPico(p.input),
    reasoning: p.reasoning !== undefined ? toPico(p.reasoning) : (base?.reasoning ?? output),
  };
}

export interface PriceSpec {
  provider?: string;
  model: string;
  kind?: 'chat' | 'embedding';
  input: number;
  output?: number;
  cached_input?: number;
  cache_write?: number;
  reasoning?: number;
  tiers?: z.infer<typeof tierSchema>[];
}

export function priceOf(spec: PriceSpec, source: string, effectiveDate?: string): Price {
  const base = ratesOf(spec);
  return {
    provider: spec.provider ?? '*',
    model: spec.model,
    kind: spec.kind ?? 'chat',
    base,
    tiers: [...(spec.tiers ?? [])]
      .sort((a, b) => a.above_prompt_tokens - b.above_prompt_tokens)
      .map((t) => ({ abovePromptTokens: t.above_prompt_tokens, rates: ratesOf(t, base) })),
    source,
    effectiveDate,
  };
}

/** Model names as providers vary them: dated snapshots, `-latest`, Bedrock regional inference-profile prefixes. */
function normalisedCandidates(model: string): string[] {
  const lower = model.toLowerCase();
  const out = [lower];
  const noRegion = lower.replace(/^(us|eu|apac|global|us-gov)\./, '');
  if (noRegion !== lower) out.push(noRegion);
  for (const name of [...out]) {
    const undated = name.replace(/-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$/, '');
    if (undated !== name) out.push(undated);
  }
  return out;
}

/**
 * Looks prices up by provider and model. Order: config overrides before the catalog; within each, an exact
 * provider+model (or alias) before the model priced for another or any provider (gateways such as openai-compatible front many vendors' models);
 * the exact name before its undated / unprefixed form, so a dated snapshot with its own price wins.
 */
export class PriceBook {
  /** Config overrides first, then the catalog: each a layer with its own provider-specific and any-provider maps. */
  private readonly layers: { byProviderModel: Map<string, Price>; byModel: Map<string, Price> }[] = [];

  constructor(
    readonly catalog: Catalog,
    overrides: readonly PriceSpec[] = [],
  ) {
    const config = this.layer();
    for (const o of overrides) this.add(config, o.provider, [o.model], priceOf(o, 'config'));
    const shipped = this.layer();
    const label = `catalog:${catalog.version}`;
    for (const e of catalog.models) this.add(shipped, e.provider, [e.model, ...e.aliases], priceOf(e, label, e.effective_date));
  }

  private layer() {
    const layer = { byProviderModel: new Map<string, Price>(), byModel: new Map<string, Price>() };
    this.layers.push(layer);
    return layer;
  }

  /** The first entry for a name wins within a layer. */
  private add(layer: PriceBook['layers'][number], provider: string | undefined, names: string[], price: Price): void {
    for (const name of names) {
      const model = name.toLowerCase();
      const key = `${provider}\u0000${model}`;
      if (provider && !layer.byProviderModel.has(key)) layer.byProviderModel.set(key, price);
      if (!layer.byModel.has(model)) layer.byModel.set(model, price);
    }
  }

  lookup(provider: string | undefined, model: string | undefined): Price | undefined {
    if (!model) return undefined;
    const names = normalisedCandidates(model);
    for (const layer of this.layers) {
      if (provider) {
        for (const name of names) {
          const hit = layer.byProviderModel.get(`${provider}\u0000${name}`);
          if (hit) return hit;
        }
      }
      for (const name of names) {
        const hit = layer.byModel.get(name);
        if (hit) return hit;
      }
    }
    return undefined;
  }
}

let shipped: Catalog | undefined;

/** The catalog shipped with the suite, validated once. */
export function shippedPriceCatalog(): Catalog {
  shipped ??= catalogSchema.parse(shippedCatalog);
  return shipped;
}
