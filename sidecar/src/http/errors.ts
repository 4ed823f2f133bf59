/** Client-facing errors, rendered in Weaviate's shape: `{"error":[{"message":"…"}]}`. */
import type { Response } from 'express';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendError(
  res: Response,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  res
    .status(status)
    .set(headers)
    .json({ error: [{ message }] });
}
