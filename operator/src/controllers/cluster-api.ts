/**
 * The operator's client of a Cluster's REST API (the sidecars' schema and membership endpoints).
 * Every call is bounded by a timeout and authenticated with the Cluster's API key. Failures are
 * ClusterApiError: `status` is the HTTP status, or undefined when no answer came (DNS, refused
 * connection, timeout), so callers can tell "unreachable" from "refused".
 */
import type { CollectionDefinition } from '../../../sidecar/src/metadata/types.js';

/** Header carrying the Raft index a schema change was applied at. */
export const SCHEMA_VERSION_HEADER = 'x-schema-version';
/** Bound on each call: reconciles must not hang on an unreachable Cluster. */
export const CLUSTER_API_TIMEOUT_MS = 5_000;

export interface Members {
  readonly leader: string;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

/** One node's row of `/v1/cluster/statistics` (the fields the operator reads). */
export interface NodeStatistics {
  readonly name: string;
  readonly status: string;
  readonly ready?: boolean;
  readonly isVoter?: boolean;
  readonly leaderId?: string;
  readonly raft?: { readonly appliedIndex?: number; readonly commitIndex?: number };
}

export interface ShardPlacement {
  readonly name: string;
  readonly belongsToNodes: readonly string[];
}

export interface SchemaWrite {
  readonly definition: CollectionDefinition | undefined;
  /** From `X-Schema-Version`; undefined if the answer had none. */
  readonly schemaVersion: number | undefined;
}

export class ClusterApiError extends Error {
  override readonly name = 'ClusterApiError';
  constructor(
    message: string,
    /** HTTP status; undefined when the Cluster did not answer at all. */
    readonly status: number | undefined,
    /** The server asked to retry (503 with Retry-After: nothing was applied). */
    readonly retryable: boolean,
  ) {
    super(message);
  }

  get unreachable(): boolean {
    return this.status === undefined;
  }
}

export interface ClusterApi {
  readonly baseUrl: string;
  statistics(): Promise<NodeStatistics[]>;
  members(): Promise<Members>;
  /** `PUT /v1/cluster/members/{node}`: add as (or promote to) voter, or add as learner. */
  setMember(node: string, voter: boolean): Promise<Members>;
  removeMember(node: string): Promise<Members>;
  listClasses(): Promise<CollectionDefinition[]>;
  /** Undefined when the class does not exist. */
  getClass(name: string): Promise<CollectionDefinition | undefined>;
  createClass(body: unknown): Promise<SchemaWrite>;
  updateClass(name: string, body: unknown): Promise<SchemaWrite>;
  deleteClass(name: string): Promise<SchemaWrite>;
  /** Undefined when the class does not exist. */
  shards(name: string): Promise<ShardPlacement[] | undefined>;
}

export interface ClusterApiOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer`; none when undefined. */
  apiKey: string | undefined;
  timeoutMs?: number;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

export function clusterApi(options: ClusterApiOptions): ClusterApi {
  const { baseUrl, apiKey } = options;
  const timeoutMs = options.timeoutMs ?? CLUSTER_API_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const reason = cause ?? (error as Error).message;
      throw new ClusterApiError(
        `${method} ${baseUrl}${path}: no answer (${reason})`,
        undefined,
        true,
      );
    }
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error message
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** The answer's body if 2xx, else a ClusterApiError with the server's message. */
  async function expectOk(method: string, path: string, body?: unknown): Promise<Answer> {
    const answer = await call(method, path, body);
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw new ClusterApiError(
      `${method} ${path}: ${answer.status} ${errorMessage(answer.body)}`,
      answer.status,
      answer.status === 503 && answer.headers.has('retry-after'),
    );
  }

  async function orUndefinedOn404<T>(method: string, path: string): Promise<T | undefined> {
    const answer = await call(method, path);
    if (answer.status === 404) return undefined;
    if (answer.status >= 200 && answer.status < 300) return answer.body as T;
    throw new ClusterApiError(
      `${method} ${path}: ${answer.status} ${errorMessage(answer.body)}`,
      answer.status,
      answer.status === 503,
    );
  }

  const write = (answer: Answer): SchemaWrite => {
    const header = answer.headers.get(SCHEMA_VERSION_HEADER);
    const version = header === null ? Number.NaN : Number(header);
    return {
      definition: (answer.body ?? undefined) as CollectionDefinition | undefined,
      schemaVersion: Number.isSafeInteger(version) ? version : undefined,
    };
  };
  const classPath = (name: string) => `/v1/schema/${encodeURIComponent(name)}`;
  const memberPath = (node: string) => `/v1/cluster/members/${encodeURIComponent(node)}`;

  return {
    baseUrl,
    async statistics() {
      const answer = await expectOk('GET', '/v1/cluster/statistics');
      return ((answer.body as { statistics?: NodeStatistics[] })?.statistics ?? []).filter(
        (row) => typeof row?.name === 'string',
      );
    },
    async members() {
      return (await expectOk('GET', '/v1/cluster/members')).body as Members;
    },
    async setMember(node, voter) {
      return (await expectOk('PUT', memberPath(node), { voter })).body as Members;
    },
    async removeMember(node) {
      return (await expectOk('DELETE', memberPath(node))).body as Members;
    },
    async listClasses() {
      const answer = await expectOk('GET', '/v1/schema');
      return (answer.body as { classes?: CollectionDefinition[] })?.classes ?? [];
    },
    getClass: (name) => orUndefinedOn404<CollectionDefinition>('GET', classPath(name)),
    async createClass(body) {
      return write(await expectOk('POST', '/v1/schema', body));
    },
    async updateClass(name, body) {
      return write(await expectOk('PUT', classPath(name), body));
    },
    async deleteClass(name) {
      return write(await expectOk('DELETE', classPath(name)));
    },
    shards: (name) => orUndefinedOn404<ShardPlacement[]>('GET', `${classPath(name)}/shards`),
  };
}

/** Weaviate's `{"error":[{"message"}]}`, or whatever came. */
function errorMessage(body: unknown): string {
  const message = (body as { error?: { message?: string }[] } | null)?.error?.[0]?.message;
  if (typeof message === 'string') return message;
  return typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body)?.slice(0, 500);
}
