// Progress on stderr while the benchmark runs (stdout gets only the final table).
const started = Date.now();

export function progress(message: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

/** Reports `status()` every few seconds until the returned function is called. */
export function ticker(label: string, status: () => string, everyMs = 3_000): () => void {
  const timer = setInterval(() => progress(`${label}: ${status()}`), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
