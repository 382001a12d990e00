/**
 * What the course's command-line tools share: a usage error that exits with status 2, and the
 * wrapper that runs a tool's `main` and turns its outcome into an exit status.
 */

/** A command-line mistake: the tool prints its message (and usage) and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Runs `main(argv)` and exits with the status it returns. A `UsageError` prints
 * `<name>: <message>` and the usage, status 2; any other error its stack, status 1.
 */
export function runCommand(
  name: string,
  main: (argv: string[]) => Promise<number>,
  usage: string,
): void {
  if (typeof name !== 'string' || typeof main !== 'function') {
    throw new TypeError(
      `runCommand: expected a name and a main function, got ${typeof name} and ${typeof main}`,
    );
  }
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`${name}: ${error.message}\n\n${usage}`);
        process.exit(2);
      }
      console.error(
        `${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      process.exit(1);
    },
  );
}
