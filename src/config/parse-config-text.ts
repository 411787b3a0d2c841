/**
 * Config text to plain data. YAML is read as YAML 1.2 (the `yaml` package's core schema), so
 * `on`/`off`/`yes` stay strings and booleans are `true`/`false`; duplicate keys, several documents
 * in one file, unknown tags and dangling aliases are errors. An empty document yields `null` (= all
 * defaults).
 */
import { parseAllDocuments } from 'yaml';
import { ConfigError } from './config-error.js';

export type ConfigFormat = 'yaml' | 'json';

/** The first line of a parser message (the yaml package appends a source excerpt). */
function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/:$/, '');
}

function syntaxError(format: ConfigFormat, source: string, message: string, cause: unknown): ConfigError {
  return new ConfigError({ key: source, problem: `invalid ${format.toUpperCase()}: ${firstLine(message)}` }, { cause });
}

/** Parses `text`; syntax errors become a ConfigError whose key is `source` (usually the file path). */
export function parseConfigText(text: string, format: ConfigFormat, source: string): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err: unknown) {
      throw syntaxError(format, source, err instanceof Error ? err.message : String(err), err);
    }
  }
  // logLevel 'silent': problems come back in doc.errors / doc.warnings instead of process warnings.
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, strict: true, logLevel: 'silent' });
  if (docs.length === 0) return null;
  if (docs.length > 1) throw syntaxError(format, source, 'the file holds several YAML documents ("---"); use one', undefined);
  const doc = docs[0]!;
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) throw syntaxError(format, source, problem.message, problem);
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err: unknown) {
    // Unresolved or exponentially expanding aliases.
    throw syntaxError(format, source, err instanceof Error ? err.message : String(err), err);
  }
}
