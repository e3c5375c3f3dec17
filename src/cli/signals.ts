/**
 * Resolve with the first SIGTERM or SIGINT received, or `'disconnect'` when the parent that
 * spawned this process with an IPC channel goes away (the demo died: do not outlive it).
 * A second signal while shutting down exits at once with 130, so an impatient Ctrl-C never
 * leaves the terminal stuck.
 */
export function shutdownSignal(): Promise<NodeJS.Signals | 'disconnect'> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals | 'disconnect') => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('disconnect', onDisconnect);
      process.once('SIGTERM', () => process.exit(130));
      process.once('SIGINT', () => process.exit(130));
      resolve(signal);
    };
    const onDisconnect = () => onSignal('disconnect');
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (process.channel) {
      // A lifeline only: the channel must not keep this process alive by itself.
      process.channel.unref();
      process.once('disconnect', onDisconnect);
    }
  });
}

/** Write one log line to stderr with a timestamp and the component name. */
export function logLine(component: string): (line: string) => void {
  return (line) => {
    process.stderr.write(`${new Date().toISOString()} ${component} ${line}\n`);
  };
}
