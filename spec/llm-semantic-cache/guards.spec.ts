import { promptsAgree } from '../../plugins/llm-semantic-cache/guards';

describe('promptsAgree', () => {
  it.each([
    ['paraphrase', 'How do I reset my password?', "What's the way to reset my password?"],
    ['casing and punctuation', 'How do I install the CLI on Linux?', 'how do i install the cli on linux'],
    ['all caps', 'HOW DO I RESET MY PASSWORD?', 'How do I reset my password?'],
    ['typo', 'How can I cancel my subscription?', 'How can I cancle my subscription?'],
    ['reordered clauses', 'If I cancel today, will I get a refund?', 'Will I get a refund if I cancel today?'],
    ['same negation, other words', "Why can't I log in?", 'Why am I not able to log in?'],
    ['same numbers, other units spelled', 'Why did my bill go up by 20 percent?', 'Why did my bill go up by 20%?'],
    ['number word and digit', 'Can I add two more seats?', 'Can I add 2 more seats?'],
    ['thousands separator', 'Convert 1,000 USD to EUR.', 'Convert 1000 USD to EUR.'],
    ['entity kept, verb changed', 'How do I connect Slack to my workspace?', 'How can I link Slack to my workspace?'],
    ['possessive', "How do I clear the cache in Chrome?", "How can I clear Chrome's cache?"],
    ['compound split', 'How do I change my username?', 'How can I change my user name?'],
    ['plural object', 'What is your return policy?', "What's your policy on returns?"],
    ['same code span', 'Why does `npm ci` fail?', 'Why is `npm ci` failing?'],
    ['"May I" is not a month', 'May I change my plan?', 'Can I change my plan?'],
  ])('agrees: %s', (_name, a, b) => {
    expect(promptsAgree(a, b)).toEqual({ agree: true });
  });

  it.each([
    ['negation', 'Which files are encrypted?', 'Which files are not encrypted?', 'negation'],
    ["n't", 'Can I cancel my order?', "Can't I cancel my order?", 'negation'],
    ['without', 'Recommend a laptop with a touchscreen.', 'Recommend a laptop without a touchscreen.', 'negation'],
    ['except', 'Send the report to everyone.', 'Send the report to everyone except the managers.', 'negation'],
    ['German negator', 'Ist das Update verpflichtend?', 'Ist das Update nicht verpflichtend?', 'negation'],
    ['non- prefix', 'Is this item returnable?', 'Is this item non-returnable?', 'negation'],
    ['digits', 'Can I get a refund within 30 days?', 'Can I get a refund within 60 days?', 'numbers'],
    ['number words', 'How many calories are in two eggs?', 'How many calories are in three eggs?', 'numbers'],
    ['version', 'What changed in version 2.1?', 'What changed in version 2.10?', 'numbers'],
    ['amount', 'My invoice shows $49.99.', 'My invoice shows $59.99.', 'numbers'],
    ['percentage', 'What is 15% of 200?', 'What is 20% of 200?', 'numbers'],
    ['time of day', 'Remind me at 9:30.', 'Remind me at 9:45.', 'numbers'],
    ['date', 'Schedule the release for 2025-06-01.', 'Schedule the release for 2025-07-01.', 'numbers'],
    ['weekday', 'Is the office open on Monday?', 'Is the office open on Tuesday?', 'time words'],
    ['relative day', 'Show the logs from yesterday.', 'Show the logs from today.', 'time words'],
    ['relative period', 'What did I spend last month?', 'What did I spend this month?', 'time words'],
    ['billing period', 'Show my monthly invoice.', 'Show my yearly invoice.', 'time words'],
    ['currency', 'What is 100 in USD?', 'What is 100 in €?', 'currencies'],
    ['named entity', 'How do I integrate with Salesforce?', 'How do I integrate with HubSpot?', 'entity'],
    ['entity at sentence start', 'Paris or London: which is bigger?', 'Berlin or London: which is bigger?', 'entity'],
    ['acronym', 'How do I deploy to AWS?', 'How do I deploy to GCP?', 'entity'],
    ['email', 'Send the report to jane@example.com.', 'Send the report to john@example.com.', 'entity'],
    ['URL', 'Is https://status.example.com up?', 'Is https://status.example.org up?', 'entity'],
    ['identifier', 'What does parse_config do?', 'What does load_config do?', 'entity'],
    ['camelCase', 'How do I call getUserById?', 'How do I call getUserByEmail?', 'entity'],
    ['CLI flag', 'What does the flag --force do?', 'What does the flag --dry-run do?', 'entity'],
    ['quoted string', 'Explain the plot of "Hamlet".', 'Explain the plot of "Macbeth".', 'entity'],
    ['code operator', 'Why is `a == b` true here?', 'Why is `a === b` true here?', 'entity'],
    ['bare operator', 'Why is a == b true here?', 'Why is a === b true here?', 'entity'],
    ['antonym verbs', 'How do I increase my credit limit?', 'How do I decrease my credit limit?', 'antonyms'],
    ['antonym phrase', 'How do I log in to the dashboard?', 'How do I log out of the dashboard?', 'antonyms'],
    ['before/after', 'What happens before the trial ends?', 'What happens after the trial ends?', 'antonyms'],
    ['min/max', 'What is the minimum order value?', 'What is the maximum order value?', 'antonyms'],
    ['adverb', 'Why is my battery charging fast?', 'Why is my battery charging slowly?', 'antonyms'],
    ['negating prefix', 'How do I pin a message?', 'How do I unpin a message?', 'negating prefix'],
    ['superlative', 'Which is the cheap plan?', 'Which is the cheapest plan?', 'comparatives'],
    ['comparative flip', 'Is the Pro plan better?', 'Is the Pro plan worse?', 'comparatives'],
    ['format', 'List the plans as JSON.', 'List the plans as a table.', 'formats'],
    ['direction', 'What is the exchange rate from USD to EUR?', 'What is the exchange rate from EUR to USD?', 'direction'],
    ['object swap', 'How do I reset my password?', 'How do I reset my router?', 'object'],
    ['object after preposition', 'What is the refund policy for flights?', 'What is the refund policy for hotels?', 'object'],
  ])('disagrees: %s', (_name, a, b, reason) => {
    const verdict = promptsAgree(a, b);
    expect(verdict.agree).toBe(false);
    expect(verdict.reason).toContain(reason);
    expect(promptsAgree(b, a).agree).toBe(false); // symmetric
  });

  it('never puts prompt text in its reason', () => {
    const verdict = promptsAgree('Send it to jane@example.com', 'Send it to john@example.com');
    expect(verdict.reason).not.toMatch(/jane|john|example/);
  });

  it('is cheap: well under a millisecond per pair', () => {
    const a = 'My card ending 4242 was declined at 10:30 on Friday; can I retry the $49.99 payment to Acme Corp without fees?';
    const b = 'Can I retry the $49.99 payment to Acme Corp without fees? My card ending 4242 was declined at 10:30 on Friday.';
    for (let i = 0; i < 200; i++) promptsAgree(a, b); // warm-up
    const start = performance.now();
    for (let i = 0; i < 1_000; i++) promptsAgree(a, b);
    expect((performance.now() - start) / 1_000).toBeLessThan(2); // generous bound (~40 µs on a busy 2-core machine)
  });
});
