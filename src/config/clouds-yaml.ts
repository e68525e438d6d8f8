/**
 * clouds.yaml through the `yaml` package (YAML 1.2 core schema, anchors and aliases, maps inside lists, block
 * scalars): whatever openstacksdk's PyYAML reads for this file. Errors are ConfigErrors naming file and line.
 * The package loads on first use only: most daemons never read a clouds.yaml.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../common/errors.js';

/** A parsed YAML node. */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
const loadYaml = (): YamlModule => (yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule);

/** Parse clouds.yaml text (one document); `file` names the source in errors. */
export function parseCloudsYaml(text: string, file = '<string>'): YamlValue {
  const { parseDocument } = loadYaml();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, schema: 'core' });
  const problem = doc.errors[0];
  if (problem) {
    const line = problem.linePos?.[0]?.line;
    throw new ConfigError(`invalid YAML in ${file}${line !== undefined ? `:${line}` : ''}: ${problem.message.split('\n')[0]}`);
  }
  return (doc.toJS({ maxAliasCount: 100 }) ?? null) as YamlValue;
}
