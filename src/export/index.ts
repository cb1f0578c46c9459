/**
 * Export of an application's live objects from the primary (design §9 "What belongs to an
 * application", §4 export hygiene): pure selection rules (`select.ts`), cached API discovery
 * (`discovery.ts`) and the exporter that lists and filters (`exporter.ts`).
 */
export * from './select.js';
export { DiscoveryCache, apiPrefix, type ApiResource } from './discovery.js';
export { ApplicationExporter, WORKLOAD_API_VERSION, type ExportedApplication, type ExporterOptions } from './exporter.js';
