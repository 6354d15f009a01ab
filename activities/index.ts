/** What activities are built with; tests pass real or stub clients here. */
export interface ActivityDeps {
  workerName: string;
}

/**
 * Builds the activities a worker registers. A factory rather than module-level
 * functions so each worker (and each test) injects its own clients and registry.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Names the worker that ran it; reads nothing external, safe to repeat. */
    async describeWorker(): Promise<string> {
      return deps.workerName;
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
