/** The stable error body every HTTP error and every refused agent message carries. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  correlationId?: string;
  /** The same request may succeed if sent again (a concurrent change won the race); agents resend it. */
  retryable?: boolean;
}
