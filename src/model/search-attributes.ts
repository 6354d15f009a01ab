/**
 * Search attributes the Temporal UI list view filters playbooks by. Registered on
 * the dev server at start; a production namespace needs them created once with
 * `temporal operator search-attribute create`.
 */
export const SEARCH_ATTRIBUTES = {
  KafkaDrPlaybook: 'Keyword',
  KafkaDrPhase: 'Keyword',
  KafkaDrClusterPair: 'Keyword',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;
