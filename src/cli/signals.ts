/**
 * Resolve with the first SIGTERM or SIGINT received. A second signal while shutting down
 * exits at once with 130, so an impatient Ctrl-C never leaves the terminal stuck.
 */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.once('SIGTERM', () => process.exit(130));
      process.once('SIGINT', () => process.exit(130));
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Write one log line to stderr with a timestamp and the component name. */
export function logLine(component: string): (line: string) => void {
  return (line) => {
    process.stderr.write(`${new Date().toISOString()} ${component} ${line}\n`);
  };
}
