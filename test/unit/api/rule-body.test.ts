import { describe, expect, it } from 'vitest';
import { HttpError, parseRuleBody } from '../../../src/api/index.js';

const parse = (text: string): unknown => parseRuleBody(Buffer.from(text, 'utf8'));

describe('parseRuleBody', () => {
  it.each([
    ['{"action":"allow"}', { action: 'allow', content: 'full' }],
    ['{"action":"block"}', { action: 'block', content: 'full' }],
    ['{"action":"polite-block","content":"basic"}', { action: 'polite-block', content: 'basic' }],
    [' {"content":"full", "action":"confirm"}\n', { action: 'confirm', content: 'full' }],
  ])('%s', (text, body) => {
    expect(parse(text)).toEqual(body);
  });

  it.each([
    ['', 'body: expected a JSON object like {"action": "allow"}'],
    ['{', 'body: not valid JSON'],
    ['null', 'body: expected a JSON object like {"action": "allow"} (got null)'],
    ['"allow"', 'body: expected a JSON object like {"action": "allow"} (got "allow")'],
    ['[{"action":"allow"}]', '(got a list)'],
    ['{}', 'action: is required (allow, block, polite-block, confirm)'],
    ['{"action":null}', 'action: must be one of allow, block, polite-block, confirm (got null)'],
    ['{"action":"ALLOW"}', 'action: must be one of allow, block, polite-block, confirm (got "ALLOW")'],
    ['{"action":1}', '(got 1)'],
    ['{"action":"allow","content":"none"}', 'content: must be one of full, basic (got "none")'],
    ['{"action":"allow","content":{}}', 'content: must be one of full, basic (got an object)'],
    ['{"action":"allow","watcher":"bob@x"}', 'watcher: unknown field (expected action, content)'],
    ['{"__proto__":{"action":"allow"}}', '__proto__: unknown field'],
  ])('%j is refused', (text, message) => {
    let err: unknown;
    try {
      parse(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    expect((err as HttpError).message).toContain(message);
  });
});
