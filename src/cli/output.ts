// Writing to stdout as a command-line tool should: a closed pipe (`| head`) ends the program quietly.

let pipeClosed = false;

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') {
    pipeClosed = true;
    process.exit(0);
  }
  throw err;
});

/** Writes and waits until the text is handed to the OS, so paced output appears on time and memory stays flat. */
export function write(text: string): Promise<void> {
  if (pipeClosed) return Promise.resolve();
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
