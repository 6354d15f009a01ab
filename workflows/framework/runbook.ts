/**
 * Each playbook lists its steps once, in runbook order, as an `as const` tuple: the union
 * of its names types `pb.step`/`pb.skip` (a misspelt name does not compile) and the dry
 * run's skipped steps are cut from it. The names are what the journal records (reports,
 * CLI, tests): never rename one.
 */

/** The steps of `runbook` from `first` on, less `except`, in runbook order. */
export function stepsFrom<S extends string>(runbook: readonly S[], first: S, except: readonly S[] = []): S[] {
  return runbook.slice(runbook.indexOf(first)).filter((step) => !except.includes(step));
}
