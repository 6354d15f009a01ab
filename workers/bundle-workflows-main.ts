import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/**
 * Bundles the workflows named by argv[2] and writes the code to stdout, for
 * workflow-bundle.ts. Run as a child process so that webpack, and the ~130 MiB of heap it
 * leaves behind, never lives in the worker's own process. Warnings and errors go to stderr.
 */
async function main(): Promise<void> {
  const workflowsPath = process.argv[2];
  if (!workflowsPath) throw new Error('usage: bundle-workflows-main <workflows path>');
  const logger = new DefaultLogger('WARN', (entry) => process.stderr.write(`${entry.level} ${entry.message}\n`));
  const { code } = await bundleWorkflowCode({ workflowsPath, logger });
  await new Promise<void>((resolve, reject) => process.stdout.write(code, (err) => (err ? reject(err) : resolve())));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
