/**
 * GitHub's OpenAPI description of api.github.com (@octokit/openapi) as request and response
 * validators (ajv), and its documented examples as answers for routes GitHub's recordings lack.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
// ajv is CommonJS; its default export is the class.
const Ajv = (require('ajv') as { default: new (opts: object) => AjvLike }).default;

interface AjvLike {
  addSchema(schema: object, key: string): void;
  compile(schema: object): ValidateFunction;
  errorsText(errors: unknown): string;
}

interface Operation {
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object; examples?: Record<string, { $ref?: string; value?: unknown }> }> }>;
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { examples: Record<string, { value: unknown }> } & Record<string, unknown>;
}

export class GitHubOpenApi {
  private readonly ajv: AjvLike;
  private readonly cache = new Map<string, ValidateFunction>();

  private constructor(private readonly spec: Spec) {
    // OpenAPI 3.0 keywords (nullable, example, discriminator) are not JSON Schema: strict off; formats not enforced.
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    this.ajv.addSchema({ $id: 'gh', components: spec.components }, 'gh');
  }

  static load(): GitHubOpenApi {
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    return new GitHubOpenApi(JSON.parse(readFileSync(file, 'utf8')) as Spec);
  }

  private op(method: string, path: string): Operation {
    const op = this.spec.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`GitHub's OpenAPI description has no ${method} ${path}`);
    return op;
  }

  private compile(key: string, schema: object): ValidateFunction {
    let v = this.cache.get(key);
    if (!v) {
      v = this.ajv.compile(JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"gh#/components/')) as object);
      this.cache.set(key, v);
    }
    return v;
  }

  /** Throws with ajv's errors when `body` is not a valid request body for the operation. */
  checkRequest(method: string, path: string, body: unknown): void {
    const schema = this.op(method, path).requestBody?.content['application/json']?.schema;
    if (!schema) throw new Error(`${method} ${path} takes no JSON body`);
    const v = this.compile(`req ${method} ${path}`, schema);
    if (!v(body)) throw new Error(`${method} ${path} request invalid per GitHub's OpenAPI: ${this.ajv.errorsText(v.errors)}`);
  }

  /** Throws when `body` is not a valid `status` response of the operation. */
  checkResponse(method: string, path: string, status: number, body: unknown): void {
    const schema = this.op(method, path).responses[String(status)]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${method} ${path} documents no JSON ${status} response`);
    const v = this.compile(`res ${status} ${method} ${path}`, schema);
    if (!v(body)) throw new Error(`${method} ${path} ${status} response invalid per GitHub's OpenAPI: ${this.ajv.errorsText(v.errors)}`);
  }

  /** The operation's first documented example of a `status` response. */
  example(method: string, path: string, status: number): unknown {
    const examples = this.op(method, path).responses[String(status)]?.content?.['application/json']?.examples;
    const first = examples ? Object.values(examples)[0] : undefined;
    if (!first) throw new Error(`${method} ${path} documents no ${status} example`);
    if (first.$ref) return structuredClone(this.spec.components.examples[first.$ref.replace('#/components/examples/', '')]!.value);
    return structuredClone(first.value);
  }
}
