/** One `steadfast <name>` subcommand. Each lives in its own file under `commands/`. */
export interface CliCommand {
  readonly name: string;
  /** One line for `steadfast --help`. */
  readonly summary: string;
  /**
   * Run the command with the arguments after its name. Resolves the process exit code;
   * long-running commands resolve when they have shut down (SIGTERM/SIGINT).
   */
  run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number>;
}
