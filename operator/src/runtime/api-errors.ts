/** Reading HTTP status codes out of @kubernetes/client-node errors. */
import { ApiException } from '@kubernetes/client-node';

/**
 * The HTTP status of a failed API call: ApiException carries `code`; the watch raises plain errors
 * with `statusCode`. Undefined for network errors and timeouts.
 */
export function apiStatusCode(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const { statusCode } = error;
    return typeof statusCode === 'number' ? statusCode : undefined;
  }
  return undefined;
}

export const isNotFound = (error: unknown): boolean => apiStatusCode(error) === 404;

/** 409: a stale resourceVersion on update, or a create of an object that already exists. */
export const isConflict = (error: unknown): boolean => apiStatusCode(error) === 409;
