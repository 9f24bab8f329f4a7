/**
 * The last check before a semantic hit is served: do the two prompts agree on what embeddings are blind to?
 * Negations, numbers, named entities and code tokens, antonyms, comparatives, formats and time words score near 1.0
 * cosine when flipped (research: cache-notes.md), so a similar-looking pair must also pass these cheap rules.
 * Only called for pairs the embedder already found similar: each rule rejects a difference, none proves sameness.
 */
export interface Agreement {
  agree: boolean;
  /** Why they disagree, for logs and `kong-llm cache eval` (never the prompt text itself). */
  reason?: string;
}

export function promptsAgree(a: string, b: string): Agreement {
  const fa = featuresOf(a);
  const fb = featuresOf(b);
  if (fa.negations !== fb.negations) return disagree(`negation count ${fa.negations} vs ${fb.negations}`);
  for (const [name, pick] of SET_RULES) {
    if (!sameSet(pick(fa), pick(fb))) return disagree(`${name} differ`);
  }
  const missing = missingEntity(fa, fb) ?? missingEntity(fb, fa);
  if (missing) return disagree('named entity or code token only in one prompt');
  const flip = antonymFlip(fa, fb) ?? antonymFlip(fb, fa);
  if (flip) return disagree(`antonyms: ${flip}`);
  const prefixed = negatingPrefix(fa, fb) ?? negatingPrefix(fb, fa);
  if (prefixed) return disagree('negating prefix (un-, dis-, non-…) on a word of the other prompt');
  if (directionFlipped(fa, fb)) return disagree('direction between entities reversed');
  if (slotSwapped(fa, fb)) return disagree('a different object after the same determiner or preposition');
  return { agree: true };
}

const disagree = (reason: string): Agreement => ({ agree: false, reason });

interface Features {
  /** lower-case words, with bigrams ("log in") for the antonym lists */
  words: Set<string>;
  /** lower-case words in order, possessive 's dropped */
  sequence: string[];
  /** antonym sides present (`pair:side`) → the word that stands for it */
  antonyms: Map<string, string>;
  negations: number;
  numbers: Set<string>;
  degrees: Set<string>;
  formats: Set<string>;
  times: Set<string>;
  currencies: Set<string>;
  /** named entities, identifiers, paths, emails, URLs (lower-case), in order of appearance */
  entities: string[];
  /** quoted strings and code spans, kept exact */
  quoted: string[];
  /** every token, lower-case, possessive 's dropped: where an entity of the other prompt is looked up */
  tokens: Set<string>;
  text: string;
  lower: string;
}

const SET_RULES: [string, (f: Features) => Set<string>][] = [
  ['numbers', (f) => f.numbers],
  ['comparatives or superlatives', (f) => f.degrees],
  ['formats', (f) => f.formats],
  ['time words', (f) => f.times],
  ['currencies', (f) => f.currencies],
];

function sameSet(x: Set<string>, y: Set<string>): boolean {
  if (x.size !== y.size) return false;
  for (const v of x) if (!y.has(v)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// word lists

const NEGATORS = new Set(
  (
    'not no non never none nothing nobody nowhere neither nor cannot without except excluding ' +
    // German, French, Spanish, Portuguese, Italian, Dutch basic negators
    'nicht kein keine keinen keiner keinem keines nie niemals nichts pas jamais rien nunca nada ningún ninguna não nao mai niente niet geen nooit'
  ).split(' '),
);
const CJK_NEGATORS = /[不没沒無无別别非]/g;

const NUMBER_WORDS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11,
  twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90,
  first: 1, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10, twice: 2, dozen: 12,
};
const MULTIPLIERS: Record<string, number> = { hundred: 100, thousand: 1_000, million: 1_000_000, billion: 1_000_000_000 };

const DEGREE_WORDS = new Set(
  (
    'more most less least fewer fewest better best worse worst ' +
    'cheaper cheapest faster fastest slower slowest larger largest smaller smallest bigger biggest higher highest ' +
    'lower lowest longer longest shorter shortest newer newest older oldest later latest earlier earliest easier ' +
    'easiest harder hardest safer safest stronger strongest weaker weakest quicker quickest closer closest further ' +
    'furthest farther farthest heavier heaviest lighter lightest simpler simplest younger youngest warmer warmest ' +
    'colder coldest hotter hottest wider widest narrower narrowest deeper deepest taller tallest nearer nearest ' +
    'stricter strictest busier busiest richer richest poorer poorest greater greatest'
  ).split(' '),
);

const FORMAT_WORDS: Record<string, string> = Object.fromEntries(
  (
    'json yaml yml:yaml csv tsv xml html markdown md:markdown table tables:table tabular:table list lists:list ' +
    'bulleted:bullets bullet:bullets bullets numbered paragraph paragraphs:paragraph tweet essay poem haiku limerick ' +
    'sonnet diagram chart graph code prose formal casual informal:casual detailed metric ' +
    'imperial ascii slides outline pdf docx'
  )
    .split(' ')
    .map((w) => {
      const [word, canonical] = w.split(':');
      return [word, canonical ?? word];
    }),
);

const TIME_WORDS = new Set(
  (
    'today tomorrow yesterday tonight morning afternoon evening night midnight noon weekend weekday ' +
    'monday tuesday wednesday thursday friday saturday sunday january february april june july august ' +
    'september october november december summer autumn winter hourly daily weekly monthly quarterly yearly annual annually'
  ).split(' '),
);
/** Names that are also common words ("may", "march") count only capitalised inside a sentence. */
const CAPITALISED_TIME_WORDS = /\b(?:March|May|Spring|Fall)\b/g;
const CLOCK_SUFFIX = /\d\s?([ap])\.?m\b/g;
/** "this month", "next week", "last year": the modifier matters. */
const TIME_MODIFIERS = new Set(['this', 'next', 'last', 'previous', 'coming', 'current', 'past']);
const TIME_UNITS = new Set(['day', 'week', 'weekend', 'month', 'quarter', 'year', 'night', 'morning', 'evening', 'season']);

const CURRENCIES: Record<string, string> = {
  $: 'usd', usd: 'usd', dollar: 'usd', dollars: 'usd', '€': 'eur', eur: 'eur', euro: 'eur', euros: 'eur',
  '£': 'gbp', gbp: 'gbp', '¥': 'jpy', yen: 'jpy', jpy: 'jpy', chf: 'chf', inr: 'inr', '₹': 'inr', rupees: 'inr',
};

/** Each entry: words on one side | words on the other (bigrams allowed); inflections are added automatically. */
const ANTONYMS: [string[], string[]][] = [
  'increase raise grow boost | decrease reduce lower shrink cut',
  'enable activate | disable deactivate',
  'turn on | turn off',
  'switch on | switch off',
  'add insert attach | remove delete detach',
  'encrypt encode | decrypt decode',
  'buy purchase | sell',
  'before prior | after',
  'min minimum | max maximum',
  'upload | download',
  'import | export',
  'upgrade | downgrade',
  'start begin launch | stop end halt finish',
  'first | last',
  'open | close shut',
  'cheap inexpensive affordable | expensive pricey costly',
  'fast quick | slow',
  'approve accept allow permit grant | reject decline deny block refuse revoke',
  'hide | show reveal unhide',
  'ascending | descending',
  'zoom in | zoom out',
  'log in login sign in signin log on | log out logout sign out signout log off',
  'check in | check out',
  'opt in | opt out',
  'above over exceed | below under',
  'include contain | exclude omit',
  'input | output',
  'push | pull',
  'win | lose',
  'up | down',
  'success succeed pass | failure fail',
  'true | false',
  'public | private',
  'online | offline',
  'inbound incoming | outbound outgoing',
  'north | south',
  'east | west',
  'left | right',
  'top | bottom',
  'early | late',
  'old | new',
  'high | low',
  'large big | small little',
  'simple easy | complex hard difficult technical',
  'beginner novice | expert advanced',
  'short brief | long lengthy',
  'maximize | minimize',
  'send | receive',
  'credit | debit',
  'deposit | withdraw withdrawal',
  'join | leave',
  'follow | unfollow',
  'save | discard',
  'restore recover undelete | delete erase',
  'lock | unlock',
  'mute | unmute',
  'subscribe | unsubscribe',
  'connect | disconnect',
  'compress zip | decompress unzip extract',
  'install | uninstall',
  'merge | split',
  'expand | collapse',
  'light | dark',
  'required mandatory | optional',
  'visible | hidden invisible',
  'full | empty',
  'paid | unpaid',
  'horizontal | vertical',
  'synchronous sync | asynchronous async',
  'client | server',
  'read | write',
  'male | female',
  'agree | disagree',
  'like | dislike',
  'positive | negative',
  'internal | external',
  'inside | outside',
  'odd | even',
  'plus | minus',
  'encrypted | plaintext unencrypted',
].map((line) => {
  const [left, right] = line.split('|').map((side) => side.trim());
  return [expandSide(left), expandSide(right)];
});

/** word → the antonym sides it stands for, as `pair:side` */
const ANTONYM_SIDES = new Map<string, string[]>();
ANTONYMS.forEach((sides, pair) =>
  sides.forEach((words, side) => {
    for (const w of words) ANTONYM_SIDES.set(w, [...(ANTONYM_SIDES.get(w) ?? []), `${pair}:${side}`]);
  }),
);

/** Single words get their inflections; two-word phrases ("log in") inflect their verb. */
function expandSide(side: string): string[] {
  const phrases = side.replace(/\b(turn|switch|zoom|log|sign|check|opt) (in|on|off|out)\b/g, '$1_$2').split(/\s+/);
  return phrases.flatMap((p) => {
    const [head, tail] = p.split('_');
    return inflections(head).map((w) => (tail ? `${w} ${tail}` : w));
  });
}

function inflections(w: string): string[] {
  const stem = w.replace(/e$/, '');
  const last = w[w.length - 1];
  return [w, `${w}s`, `${w}es`, `${w}d`, `${w}ed`, `${stem}ing`, `${stem}ed`, `${w}${last}ed`, `${w}${last}ing`, `${stem}ion`, `${stem}ions`, `${w}ly`];
}

/** A prefix that negates the rest of the word (three letters at least: "unpin", not "undo"). */
const NEGATING_PREFIX = /^(?:un|dis|de|in|im|ir|il|non|anti)(\p{L}{3,})$/u;

/**
 * Capitalised words that commonly open a sentence without naming anything; any other capitalised word counts as a
 * named entity, wherever it stands.
 */
const SENTENCE_STARTERS = new Set(
  (
    'a an the i i\'m i\'ve i\'d i\'ll my me we our you your it its it\'s this that these those there here he she they ' +
    'how what what\'s whats why when where who whom whose which whether if once while since after before because so ' +
    'and or but also then now please pls hi hello hey thanks thank ok okay yes no not never is are was were be am do ' +
    'does did can could should would will shall may might must have has had let lets let\'s any all some each every ' +
    'give show tell list write explain describe summarize summarise make create find get set add remove delete send ' +
    'check help convert translate compare generate draft book cancel reply answer return format recommend suggest ' +
    'share sort split schedule remind use using with without for from to in on at by of about into over under ' +
    'between during after again just only still even maybe today tomorrow yesterday my new is\'nt isn\'t don\'t ' +
    'doesn\'t can\'t won\'t didn\'t aren\'t wasn\'t weren\'t couldn\'t shouldn\'t wouldn\'t hasn\'t haven\'t ' +
    'search look open close start stop run install update upgrade change fix solve calculate define rewrite ' +
    'count name provide output print display read review edit improve optimize optimise debug test deploy build ' +
    'configure enable disable reset restore export import upload download connect login log sign follow order ' +
    'buy sell pay refund ship track contact call email message note ticket error problem issue question'
  ).split(' '),
);

// ---------------------------------------------------------------------------------------------------------------
// feature extraction

const TOKEN = /[\p{L}\p{N}](?:[\p{L}\p{N}_'’]|[.\-/@:+#](?=[\p{L}\p{N}]))*/gu;
const QUOTED = /"([^"\n]+)"|“([^”\n]+)”|`([^`\n]+)`|(?:^|[\s(])'([^'\n]+)'(?=[\s.,;:!?)]|$)/g;
const FLAG = /(?:^|\s)(--?[a-z][\w-]*)/g;
const URL_OR_EMAIL = /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\bhttps?:\/\/[^\s"'`<>]+/gi;
const OPERATOR = /(?:===|!==|==|!=|<=|>=|=>|->|&&|\|\||\+\+|--(?=\w|\s|$)|<<|>>|\*\*)/g;

function featuresOf(text: string): Features {
  const lower = text.toLowerCase();
  const quoted: string[] = [];
  for (const m of text.matchAll(QUOTED)) quoted.push((m[1] ?? m[2] ?? m[3] ?? m[4]).trim());
  const entities: string[] = [];
  for (const m of text.matchAll(URL_OR_EMAIL)) entities.push(m[0].replace(/[.,;:!?)]+$/, '').toLowerCase());
  for (const m of text.matchAll(FLAG)) entities.push(m[1].toLowerCase());
  for (const m of text.replace(/`[^`\n]*`/g, ' ').matchAll(OPERATOR)) entities.push(m[0]);

  const plainWords = lower.match(/[\p{L}]+(?:['’][\p{L}]+)?/gu) ?? [];
  const sequence = plainWords.map((w) => w.replace(/['’]s$/, ''));
  const words = new Set<string>(plainWords);
  for (let i = 0; i + 1 < plainWords.length; i++) words.add(`${plainWords[i]} ${plainWords[i + 1]}`);

  let negations = (text.match(CJK_NEGATORS) ?? []).length;
  for (const w of plainWords) if (NEGATORS.has(w) || /n['’]t$/.test(w)) negations++;

  const times = new Set<string>();
  plainWords.forEach((w, i) => {
    if (TIME_WORDS.has(w)) times.add(w);
    if (TIME_MODIFIERS.has(w) && TIME_UNITS.has(plainWords[i + 1] ?? '')) times.add(`${w} ${plainWords[i + 1]}`);
  });
  for (const m of text.matchAll(CAPITALISED_TIME_WORDS)) if (!atSentenceStart(text, m.index)) times.add(m[0].toLowerCase());
  for (const m of lower.matchAll(CLOCK_SUFFIX)) times.add(`${m[1]}m`);

  const currencies = new Set<string>();
  for (const ch of text.match(/[$€£¥₹]/g) ?? []) currencies.add(CURRENCIES[ch]);
  for (const w of plainWords) if (CURRENCIES[w] && w.length > 1) currencies.add(CURRENCIES[w]);

  const tokens = new Set<string>();
  for (const m of text.matchAll(TOKEN)) {
    const token = m[0].toLowerCase().replace(/['’]s$/, '');
    tokens.add(token);
    if (isEntity(m[0], text, m.index)) entities.push(token);
  }

  const antonyms = new Map<string, string>();
  for (const w of words) for (const key of ANTONYM_SIDES.get(w) ?? []) antonyms.set(key, w);

  return {
    words,
    sequence,
    antonyms,
    negations,
    numbers: numbersOf(text, plainWords),
    degrees: new Set(plainWords.filter((w) => DEGREE_WORDS.has(w))),
    formats: new Set(plainWords.filter((w) => w in FORMAT_WORDS).map((w) => FORMAT_WORDS[w])),
    times,
    currencies,
    entities,
    quoted,
    tokens,
    text,
    lower,
  };
}

function isEntity(token: string, text: string, index: number): boolean {
  if (/^\d+$/.test(token)) return false; // numbers have their own rule
  if (/[_/@]|\.(?=\w)|\d/.test(token) && /\p{L}/u.test(token)) return true; // identifiers, paths, versions, codes (E04)
  if (/\p{Ll}\p{Lu}/u.test(token)) return true; // camelCase, iPhone, HubSpot
  if (!/^\p{Lu}/u.test(token)) return false;
  if (token === 'I' || /^I['’]/.test(token)) return false;
  if (token.length > 1 && token === token.toUpperCase()) return true; // acronyms: API, SSO, USD
  return !(atSentenceStart(text, index) && SENTENCE_STARTERS.has(token.toLowerCase().replace(/’/g, "'")));
}

function atSentenceStart(text: string, index: number): boolean {
  let i = index - 1;
  while (i >= 0 && /[ \t\r]/.test(text[i])) i--;
  return i < 0 || '.!?:;\n"“('.includes(text[i]);
}

function numbersOf(text: string, plainWords: string[]): Set<string> {
  const numbers = new Set<string>();
  for (const m of text.matchAll(/\d+(?:[.,:]\d+)*/g)) {
    let n = m[0];
    if (/^\d{1,3}(,\d{3})+$/.test(n)) n = n.replace(/,/g, ''); // 1,000 → 1000
    numbers.add(n.replace(/^0+(?=\d)/, '')); // 05 → 5
  }
  let value = 0;
  let current = 0;
  let inNumber = false;
  const flush = () => {
    if (inNumber) numbers.add(String(value + current));
    value = current = 0;
    inNumber = false;
  };
  for (const w of plainWords) {
    if (w in NUMBER_WORDS) {
      current += NUMBER_WORDS[w];
      inNumber = true;
    } else if (w in MULTIPLIERS && inNumber) {
      const m = MULTIPLIERS[w];
      if (m >= 1000) {
        value += (current || 1) * m;
        current = 0;
      } else current = (current || 1) * m;
    } else if (!(w === 'and' && inNumber)) flush();
  }
  flush();
  return numbers;
}

// ---------------------------------------------------------------------------------------------------------------
// pairwise rules

/** An entity or quoted string of `x` that `y` does not mention at all (case-insensitive; code spans exact). */
function missingEntity(x: Features, y: Features): string | undefined {
  for (const e of x.entities) if (!y.tokens.has(e) && !y.entities.includes(e)) return e;
  for (const q of x.quoted) if (!y.quoted.includes(q) && !y.text.includes(q)) return q;
  return undefined;
}

/** One side of an antonym pair in `x`, where `y` has the other side instead. */
function antonymFlip(x: Features, y: Features): string | undefined {
  for (const [key, word] of x.antonyms) {
    const [pair, side] = key.split(':');
    const opposite = `${pair}:${side === '0' ? 1 : 0}`;
    if (!y.antonyms.has(key) && y.antonyms.has(opposite) && !x.antonyms.has(opposite)) return `${word} / ${y.antonyms.get(opposite)}`;
  }
  return undefined;
}

/** "possible" vs "impossible", "lock" vs "unlock": a word of `x` that `y` has only with a negating prefix. */
function negatingPrefix(x: Features, y: Features): string | undefined {
  for (const prefixed of y.sequence) {
    const base = NEGATING_PREFIX.exec(prefixed)?.[1];
    if (base && x.words.has(base) && !x.words.has(prefixed) && !y.words.has(base)) return base;
  }
  return undefined;
}

/** "from USD to EUR" vs "from EUR to USD": the same entities in reverse order around a direction word. */
function directionFlipped(x: Features, y: Features): boolean {
  if (!/\b(to|into|than|from|vs|versus|over)\b|->|→/.test(x.lower)) return false;
  const order = (f: Features) => f.entities.filter((e, i) => f.entities.indexOf(e) === i);
  const ox = order(x);
  const oy = order(y);
  if (ox.length < 2 || ox.length !== oy.length || !sameSet(new Set(ox), new Set(oy))) return false;
  return ox.some((e, i) => oy[i] !== e);
}

/** Words after which a noun phrase names what the prompt is about: "reset my password", "policy for flights". */
const SLOT_OPENERS = new Set(
  'my your our their his her its the a an this that these those for of with to in on from about per each every another'.split(' '),
);
const FUNCTION_WORDS = new Set(
  (
    'my your our their his her its the a an this that these those for of with to in on from about per each every ' +
    'another other different same new own all any some more most very just only also so i me you we it they he she ' +
    'them us is are was were be been am do does did have has had can could will would should may might must not ' +
    'and or but if then than as at by up out how what why when where who which there here one ones'
  ).split(' '),
);

/**
 * "How do I reset my password?" vs "How do I reset my router?": after the same determiner or preposition each
 * prompt names an object the other never mentions. Paraphrases keep their objects (and change verbs instead).
 */
function slotSwapped(x: Features, y: Features): boolean {
  const fillers = (f: Features) => {
    const bySlot = new Map<string, string[]>();
    f.sequence.forEach((w, i) => {
      if (!SLOT_OPENERS.has(w)) return;
      let j = i + 1;
      while (j < f.sequence.length && SLOT_OPENERS.has(f.sequence[j])) j++; // "for the office": the filler is "office"
      const next = f.sequence[j];
      if (next && !FUNCTION_WORDS.has(next)) bySlot.set(w, [...(bySlot.get(w) ?? []), next]);
    });
    return bySlot;
  };
  const mentions = (f: Features) => {
    const stems = new Set(f.sequence.map(stem));
    const compact = f.sequence.join('');
    return (w: string) => stems.has(stem(w)) || (w.length >= 5 && compact.includes(w));
  };
  const fx = fillers(x);
  const fy = fillers(y);
  const inX = mentions(x);
  const inY = mentions(y);
  for (const [slot, wordsX] of fx) {
    const wordsY = fy.get(slot);
    if (wordsY && wordsX.some((w) => !inY(w)) && wordsY.some((w) => !inX(w))) return true;
  }
  return false;
}

function stem(w: string): string {
  return w.length > 3 ? w.replace(/(?:ies|es|s)$/, (m) => (m === 'ies' ? 'y' : '')) : w;
}
