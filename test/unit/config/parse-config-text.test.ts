import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../../src/config/index.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseConfigText', () => {
  it('parses YAML 1.2: on/off/yes stay strings, true/false are booleans', () => {
    expect(parseConfigText('a: on\nb: yes\nc: true\nd: 5060\ne: [SHA-256, MD5]\n', 'yaml', 'x.yaml')).toEqual({ a: 'on', b: 'yes', c: true, d: 5060, e: ['SHA-256', 'MD5'] });
  });

  it('parses JSON', () => {
    expect(parseConfigText('{"listen": [], "nodeId": "n1"}', 'json', 'x.json')).toEqual({ listen: [], nodeId: 'n1' });
  });

  it('an empty or comment-only YAML document is null', () => {
    expect(parseConfigText('', 'yaml', 'x.yaml')).toBeNull();
    expect(parseConfigText('# just a comment\n', 'yaml', 'x.yaml')).toBeNull();
  });

  it('resolves anchors and aliases', () => {
    expect(parseConfigText('a: &p { port: 1 }\nb: *p\n', 'yaml', 'x.yaml')).toEqual({ a: { port: 1 }, b: { port: 1 } });
  });

  const bad: ReadonlyArray<readonly [string, string, 'yaml' | 'json', string]> = [
    ['duplicate keys', 'log: {}\nlog: {}\n', 'yaml', 'Map keys must be unique'],
    ['unclosed flow sequence', 'listen: [\n', 'yaml', 'line'],
    ['several documents', 'a: 1\n---\nb: 2\n', 'yaml', 'several YAML documents'],
    ['unknown tag', 'a: !!frob 3\n', 'yaml', 'Unresolved tag'],
    ['dangling alias', 'a: *nowhere\n', 'yaml', 'nowhere'],
    ['bad JSON', '{"a": }', 'json', 'invalid JSON'],
  ];
  it.each(bad)('rejects %s, keyed by the source', (_name, text, format, fragment) => {
    const err = errorOf(() => parseConfigText(text, format, 'conf/h.yaml'));
    expect(err.key).toBe('conf/h.yaml');
    expect(err.message.startsWith(`conf/h.yaml: invalid ${format.toUpperCase()}: `)).toBe(true);
    expect(err.message).toContain(fragment);
    expect(err.message).not.toContain('\n');
  });
});
