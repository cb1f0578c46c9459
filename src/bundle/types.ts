/** A JSON value as it appears in a Kubernetes manifest. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A Kubernetes object in plain JSON form (no client library types: this module is pure). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Where a bundle came from (index.json `source`). */
export interface BundleSource {
  /** Primary cluster name, e.g. "shanghai". */
  cluster: string;
  namespace: string;
  /** Kind of the object whose rollout produced the bundle, e.g. "Rollout" or "Deployment". */
  kind: string;
  name: string;
  revision?: string;
  podTemplateHash?: string;
  commit?: string;
}

/** One file listed in index.json. */
export interface BundleFile {
  path: string;
  size: number;
  /** Lower-case hex SHA-256 of the file bytes. */
  sha256: string;
}

/** The parsed `index.json` of a bundle (design §2). */
export interface BundleIndex {
  formatVersion: string;
  producer: { name: string; version: string };
  /** The application the sequence number counts for; "<namespace>/<name>" of the source by default. */
  application: string;
  source: BundleSource;
  /** Monotonic per application; verification refuses a sequence not newer than the last accepted. */
  sequence: number;
  /** RFC 3339 UTC timestamps. */
  createdAt: string;
  expiresAt: string;
  /** Target clusters allowed to apply the bundle; empty means any target. */
  targets: string[];
  files: BundleFile[];
}

/** The index metadata without the file list: what the signed in-toto predicate repeats. */
export type BundleMetadata = Omit<BundleIndex, 'files'>;
