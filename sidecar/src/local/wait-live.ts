/** Waits until a node's client API answers `GET /v1/.well-known/live`, or fails saying which. */
export async function waitUntilLive(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${host}:${port}/v1/.well-known/live`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`node on ${host}:${port} did not become live within ${timeoutMs}ms`);
}
